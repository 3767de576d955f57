"""Client side of the hub: where files come from (:class:`FileSource`), settings, and ``push_to_hub``."""

from modelyard.hub.files import FileSource, is_commit_hash

__all__ = ["FileSource", "is_commit_hash"]
