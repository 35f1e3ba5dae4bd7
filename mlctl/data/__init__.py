"""Data versioning: pointers, folder manifests, the stat cache, checkout, remotes.

Other components call the core API in ``mlctl.data.api``.
"""
