"""Checksum manifests: readers (``read``), writers (``write``), the checker (``check``), the digests it needs
(``digests``) and the quick-mode cache (``cache``).
"""
