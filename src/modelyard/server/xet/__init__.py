"""The hub's Xet storage: the content-addressed store (CAS) that ``hf_xet`` uploads to and downloads from.

Files are cut by clients into content-defined chunks (about 64 KiB), packed into xorbs, and described by
shards; the hub checks every hash it is given (``hashing``), parses xorbs (``xorb``) and shards (``shard``),
keeps xorbs on the same blob store as LFS objects and the rest in its database (``store``, the engine of the
content gateway's Xet backend, ``modelyard.server.content.xet``), and serves the CAS API plus the hub's token
routes (``routes``). The hub never chunks data itself: clients do, and any
chunking is accepted as long as the hashes check out.
"""
