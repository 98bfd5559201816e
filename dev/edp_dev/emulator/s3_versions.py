"""moto's DeleteObject(s) of one object version, corrected for a bucket whose versioning is Suspended.

Destroying a versioned bucket with `force_destroy`, Terraform first removes `aws_s3_bucket_versioning`
(which suspends versioning: it cannot be turned off), then empties the bucket version by version. S3 deletes
exactly the version named, suspended or not. moto 5 treats a suspended bucket as unversioned: it drops every
version of the key at once and fails with a 500 on a delete marker among them (`FakeDeleteMarker` has no
`dispose`), which the provider retries without end, so the destroy hangs. This patch deletes a named version
of a suspended bucket the way moto does for an enabled one.
"""

from __future__ import annotations

import threading

_lock = threading.Lock()


def install() -> None:
    """Patch moto's S3 backend (idempotent)."""
    from moto.s3.models import S3Backend

    original = S3Backend.delete_object
    if getattr(original, "edp_patched", False):
        return

    def delete_object(self, bucket_name, key_name, version_id=None, bypass=False):
        bucket = self.get_bucket(bucket_name)
        if version_id is None or getattr(bucket, "versioning_status", None) != "Suspended":
            return original(self, bucket_name, key_name, version_id=version_id, bypass=bypass)
        with _lock:  # moto's versioned branch, for this call only (a request at the same moment sees "Enabled")
            bucket.versioning_status = "Enabled"
            try:
                return original(self, bucket_name, key_name, version_id=version_id, bypass=bypass)
            finally:
                bucket.versioning_status = "Suspended"

    delete_object.edp_patched = True
    S3Backend.delete_object = delete_object
