# The snapshot renders what the results tests publish: the same contest and officers.
from tests.results.conftest import governor, officers  # noqa: F401
