import pytest

from ganstyle.metrics.extractors import classifier as classifier_module

# a smaller budget than the shipped default; still has to reach the accuracy the tests assert
TEST_CLASSIFIER = classifier_module.ClassifierConfig(epochs=6)


@pytest.fixture(scope="session")
def metrics_cache(tmp_path_factory):
    """A private cache dir for the whole session (classifier weights, reference statistics)."""
    path = tmp_path_factory.mktemp("ganstyle-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GANSTYLE_CACHE_DIR", str(path))
        mp.setattr(classifier_module, "DEFAULT_CLASSIFIER", TEST_CLASSIFIER)
        yield path


@pytest.fixture(scope="session")
def digits_classifier(metrics_cache):
    """Trained once per session, then read back from the cache by everyone else."""
    model, info = classifier_module.load_or_train_classifier(TEST_CLASSIFIER)
    return model, info
