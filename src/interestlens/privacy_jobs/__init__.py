"""Privacy jobs over a saved model directory, its events store and the embedding cache.

* :mod:`~interestlens.privacy_jobs.forget` — erase a user (the model is refitted without them);
* :mod:`~interestlens.privacy_jobs.audit` — every place a user's id, pseudonym, text or events
  remain;
* :mod:`~interestlens.privacy_jobs.rotate` — move a model and its store to a new key.

The mechanisms they use (pseudonyms, k-anonymity, DP) are in :mod:`interestlens.privacy`.
"""
