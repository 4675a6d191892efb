"""corridors: the competition between Central Asia's trade routes."""

__version__ = "0.1.0"
