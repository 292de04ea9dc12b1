"""staffer: a real-time staffing daemon for contact centers."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("staffer")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"
