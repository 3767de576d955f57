"""The hub's content gateway: every route that holds, reads, serves or links a file's bytes goes through
:class:`ContentStore` (``hub.content``), which alone decides whether they live as a regular blob, an LFS object
or a Xet file.

* ``gateway``: :class:`ContentStore`, the one door;
* ``backend``: :class:`ContentBackend`, what each blob backend answers (the backends are peers under it);
* ``lfs``: LFS objects and regular blobs in the blob store (uploads through the hub, in parts, or straight into
  S3 via ``direct``); ``xet``: files rebuilt from Xet xorbs (the Xet store, ``modelyard.server.xet.store``,
  is its engine).
"""

from modelyard.server.content.backend import ContentBackend
from modelyard.server.content.gateway import REGULAR, ContentStore

__all__ = ["REGULAR", "ContentBackend", "ContentStore"]
