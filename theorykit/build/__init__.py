"""Build stage: generated source text -> importable module, through a content-hash cache."""

from .cache import cache_dir, clear_cache, load_source

__all__ = ["cache_dir", "clear_cache", "load_source"]
