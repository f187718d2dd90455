"""The ONE model-directory format: everything that writes, reads or verifies a saved model.

A saved model is a directory of JSON/TOML, ``.npy`` and Parquet files — never pickle. The
components (:class:`~interestlens.recommend.interest.InterestRecommender`,
:class:`~interestlens.cluster.ClusteringResult`, the clusterers, :class:`InterestClusters`,
:class:`~interestlens.privacy.ClusterRelease`, the explanations) only give their state
(``state()`` / ``get_state()`` / ``to_dict()``: JSON-able meta and plain arrays) and are built
back from it (``from_state`` / ``from_dict``); they never touch files. This package turns those
states into files with the :mod:`interestlens.persist` primitives (atomic writes, headers
checked before an array is read, ``allow_pickle=False``):

* :mod:`.saved_model`: :class:`SavedModel`, :func:`save_model`, :func:`load_model`;
* :mod:`.manifest`: ``manifest.json`` (format name and version);
* :mod:`.identifiers`: the item and user ids and titles (and renaming the users);
* :mod:`.verify`: every file checked against the manifest before anything is loaded;
* :mod:`.checksums`: ``checksums.json``, the sha256 and size of every file, written last and
  hashed on every load (:func:`write_checksums`, :func:`update_checksums`,
  :func:`verify_checksums`);
* :mod:`.recommender_files`: ``recommender/`` (:func:`write_recommender`,
  :func:`read_recommender`);
* :mod:`.cluster_files`: ``clustering/``, the per-user cluster arrays and the explanations;
* :mod:`.privacy_files`: the differentially private release;
* :mod:`.streaming`: the per-user files of a fit too large for memory (the Spark engine),
  streamed from Parquet parts;
* :mod:`.tables` (Parquet) and :mod:`.directory` (where a model may go, renamed into place).

Layout (format version 1)::

    manifest.json           format name and version, interestlens version, encoder id, fit report
    checksums.json          {"algorithm": "sha256", "files": {"path": {"sha256", "size"}}}: every
                            other regular file (posix paths relative to the directory,
                            sorted), manifest.json included; written after all the others,
                            before the rename into place; absent in directories saved before
                            it existed (they load, unchecked; 'interestlens verify' says so)
    config.toml             the settings the model was fitted with
    item_ids.json           external item ids, in index order
    user_ids.json           external user ids, in index order
    item_vectors.npy        float32 (n_items, d)
    user_vectors.npy        float32 (n_users, d) interest vectors
    user_text_vectors.rows.npz  float32 (n_users, d) vectors of the users' own text (zero if
                            none), only the non-zero rows stored (``persist.write_rows``);
                            directories written before hold user_text_vectors.npy, still read
    items.parquet           item_id, text
    users.parquet           user_id, text, source (blend / history / text / none)
    interactions.parquet    user_index, item_index, rating, timestamp
    item_titles.json        display titles, when the items have a title column
    user_clusters.npy       int64 (n_users,) cluster per user, -1 = no history and no text
    user_map.npy            float32 (n_users, 2) positions on the report's 2-D map
    membership.npy          float32 (n_users, k) soft membership, where the method has one
    user_placement.npy      int8 (n_users,) how each user was placed in their cluster, and
    user_confidence.npy     float32 (n_users,) how confidently (NaN: no signal), when known
    explanations.json       keywords, representative items, medoid users per cluster
    clusters_summary.json   users not clustered, metrics against known labels
    cluster_ids.npy         int64 (k,) stable id of each fitted cluster, when fitted with a
                            previous model (fit --previous, refit); absent: ids = fit indices
    cluster_lineage.json    the previous fit's id, kept / born / split / merged / dissolved
                            clusters and the next free id (interestlens.cluster.identity)
    privacy_release.json    with privacy.epsilon: differentially private cluster sizes and the
    privacy_centroids.npy   budget (ε, δ, clip); float32 (k, d) DP centroids (docs/privacy.md)
    clustering/             the fitted clusterer, k-selection scores and stability
    bridge/                 bridge.json, coef.npy, intercept.npy: the text-to-interest bridge
                            of the representer, when it has one
    recommender/            the fitted InterestRecommender (when recommend.enabled), its
                            chosen blend weights and tuning record included
    evaluation.json         written by 'interestlens evaluate --model DIR', shown in the report
                            (with evaluation.md and .csv; added to checksums.json)
    service_log.json        written by refit: which events store, and how much of its log, the
                            model holds (replays skip that much)

The whole directory is written next to its destination and renamed into place, so a reader
(or the HTTP service reloading) sees the old model or the new one, never a mixture. Files
added later and not listed in ``checksums.json`` (a user's notes) are no error; a listed file
that is missing, of another size or another sha256 is a :class:`ModelFormatError`. A writer
that changes a directory in place (:func:`rename_users`, ``evaluate --model``) records the new
digests with :func:`update_checksums`.
"""

from interestlens.model_dir.checksums import (
    CHECKSUMS_FILE,
    ChecksumReport,
    update_checksums,
    verify_checksums,
    write_checksums,
)
from interestlens.model_dir.cluster_files import (
    read_clusterer_state,
    read_clustering,
    read_explanations,
    read_interest_clusters,
    write_clusterer_state,
    write_clustering,
    write_explanations,
    write_interest_clusters,
)
from interestlens.model_dir.directory import check_destination, replace_directory
from interestlens.model_dir.identifiers import (
    read_item_ids,
    read_item_titles,
    read_user_ids,
    rename_users,
)
from interestlens.model_dir.manifest import (
    FORMAT_NAME,
    FORMAT_VERSION,
    package_version,
    read_manifest,
    write_manifest,
)
from interestlens.model_dir.privacy_files import read_release, write_release
from interestlens.model_dir.recommender_files import read_recommender, write_recommender
from interestlens.model_dir.saved_model import (
    SavedModel,
    load_model,
    save_model,
    write_bridge,
    write_item_files,
    write_settings,
)
from interestlens.model_dir.streaming import UserStream, stream_interactions
from interestlens.model_dir.tables import read_parquet, write_parquet
from interestlens.model_dir.verify import verify_model_dir

__all__ = [
    "CHECKSUMS_FILE",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "ChecksumReport",
    "SavedModel",
    "UserStream",
    "check_destination",
    "load_model",
    "package_version",
    "read_clusterer_state",
    "read_clustering",
    "read_explanations",
    "read_interest_clusters",
    "read_item_ids",
    "read_item_titles",
    "read_manifest",
    "read_parquet",
    "read_recommender",
    "read_release",
    "read_user_ids",
    "rename_users",
    "replace_directory",
    "save_model",
    "stream_interactions",
    "update_checksums",
    "verify_checksums",
    "verify_model_dir",
    "write_bridge",
    "write_checksums",
    "write_clusterer_state",
    "write_clustering",
    "write_explanations",
    "write_interest_clusters",
    "write_item_files",
    "write_manifest",
    "write_parquet",
    "write_recommender",
    "write_release",
    "write_settings",
]
