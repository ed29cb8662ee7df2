"""The bucket the static snapshot is published to (settings: STORAGES["snapshot"])."""

from pathlib import PurePosixPath

from storages.backends.s3 import S3Storage


class SnapshotStorage(S3Storage):
    """S3Storage with object parameters chosen by the file's suffix.

    One `object_parameters` dict serves every object in django-storages; a
    static site needs a short cache on pages (their names stay, their numbers
    move) and an exact ContentType for each kind of file, not what the host's
    mime.types happens to say (it calls a .pem a certificate chain).
    """

    def get_default_settings(self):
        # parameters_by_suffix: {".html": {"ContentType": ..., "CacheControl": ...}}, laid over object_parameters.
        return {**super().get_default_settings(), "parameters_by_suffix": {}}

    def get_object_parameters(self, name):
        suffix = PurePosixPath(name).suffix.lower()
        return {**super().get_object_parameters(name), **self.parameters_by_suffix.get(suffix, {})}
