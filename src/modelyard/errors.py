"""The modelyard exception hierarchy.

Every error subclasses :class:`ModelyardError` *and* the standard-library kind a user would naturally catch
(``ValueError``, ``FileNotFoundError``, ...), so ``except ValueError`` keeps working for code written
against the reference library.
"""

from __future__ import annotations


class ModelyardError(Exception):
    """Base class of every error raised by modelyard."""


class ConfigurationError(ModelyardError, ValueError):
    """A configuration (or preprocessing config) has an invalid value, type or JSON content."""


class MissingFileError(ModelyardError, FileNotFoundError):
    """A file that a load needs is not in the folder or repository."""


class HubError(ModelyardError, OSError):
    """A hub could not serve a request (network, permissions, missing repository or revision)."""


class RepositoryNotFoundError(HubError):
    """The repository does not exist, or the token in use may not see it."""


class RevisionNotFoundError(HubError):
    """The branch, tag or commit does not exist in the repository."""


class HubConnectionError(HubError, ConnectionError):
    """The hub could not be reached at all (wrong HF_ENDPOINT, hub down, no network)."""


class HubAuthenticationError(HubError, PermissionError):
    """The hub refused the token, or the token may not do what was asked."""


class OfflineModeError(HubError):
    """A file is needed that is not in the local cache and network access is switched off."""


class WeightsError(ModelyardError, ValueError):
    """Weights could not be loaded or saved as asked (bad file, shape mismatch, missing tensors)."""


class WeightShapeMismatchError(WeightsError, RuntimeError):
    """Tensors of the checkpoint have other shapes than the model's; a ``RuntimeError`` too, as the reference
    raises (code catching either keeps working)."""


class MetaDeviceContextError(ModelyardError, RuntimeError):
    """``from_pretrained`` was called inside ``with torch.device("meta")``: the weights would load nowhere."""


class IntegrityError(WeightsError):
    """A file's content does not match the checksum recorded for it."""


class UnsafeFileError(ModelyardError, PermissionError):
    """A file was refused because loading it could run code (pickle) or the hub marked it unsafe."""


class TrustRemoteCodeError(ModelyardError, ValueError):
    """A repository ships code that would have to run, and the user has not trusted it."""


class MissingDependencyError(ModelyardError, ImportError):
    """Code needs packages that are not installed; the message lists what to install."""


class RegistrationError(ModelyardError, ValueError):
    """An Auto-class registration conflicts with an existing one or is inconsistent."""


class UnknownModelTypeError(ModelyardError, ValueError):
    """A ``model_type`` (or class name) is not known to the Auto classes."""


class TokenizerError(ModelyardError, ValueError):
    """A tokenizer was built or called with invalid input."""


class TokenizerArgumentClashError(TokenizerError, AttributeError):
    """A tokenizer setting is named like one of its methods (``add_special_tokens=True`` to the constructor), which
    would shadow the method; an ``AttributeError`` too, as the reference raises."""


class FeatureExtractionError(ModelyardError, ValueError):
    """A feature extractor, image processor or processor got invalid input or settings."""


__all__ = [
    "ConfigurationError",
    "FeatureExtractionError",
    "HubError",
    "IntegrityError",
    "MissingDependencyError",
    "MissingFileError",
    "ModelyardError",
    "OfflineModeError",
    "RegistrationError",
    "RepositoryNotFoundError",
    "RevisionNotFoundError",
    "ShapeError",
    "TokenizerError",
    "TokenizerArgumentClashError",
    "WeightShapeMismatchError",
    "MetaDeviceContextError",
    "TrustRemoteCodeError",
    "UnknownModelTypeError",
    "UnsafeFileError",
    "WeightsError",
]


class ShapeError(ModelyardError, ValueError):
    """A tensor given to a model or helper does not have the shape the other inputs call for."""


class UnexpectedArgumentError(ModelyardError, TypeError):
    """A keyword argument is neither a loading option nor a configuration attribute."""


__all__.append("UnexpectedArgumentError")


class RemoteCodeCompatibilityError(ModelyardError, ImportError):
    """Custom code written for the transformers library imports a module or name that modelyard's
    compatibility layer for it does not provide (the message names it and the file that asked for it)."""


class MissingCompatibilityAttributeError(ModelyardError, AttributeError):
    """Custom code read an attribute of the transformers compatibility namespace that modelyard does not
    provide (an ``AttributeError``, so ``hasattr`` checks in that code keep working)."""


__all__ += ["MissingCompatibilityAttributeError", "RemoteCodeCompatibilityError"]


class PipelineError(ModelyardError, ValueError):
    """``pipeline()`` cannot serve a request: an unknown task, a model without the head a task needs, or
    inputs the task cannot read (the message names the value and the fix)."""


__all__.append("PipelineError")
