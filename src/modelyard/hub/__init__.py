"""Client side of the hub: settings, the gateway that builds every hub client (errors translated), where
files come from (:class:`FileSource`), the push path (``push_to_hub``) and the Xet upload switch."""

from modelyard.hub.files import FileSource, is_commit_hash

__all__ = ["FileSource", "is_commit_hash"]
