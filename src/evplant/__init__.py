"""evplant: a digital twin for planning an EV plant and the venture around it."""

__version__ = "0.1.0"
