"""dclearn: the library behind the deep clustering course.

    from dclearn import load_dataset, evaluate, KMeans
    data = load_dataset("digits")
    labels = KMeans(n_clusters=data.n_clusters, random_state=0).fit(data.X).labels_
    evaluate(data.y, labels)   # {'acc': ..., 'nmi': ..., 'ari': ...}
"""

from . import checks, data, metrics, nets, plot, train
from .data import ClusterData, load_dataset
from .methods import *  # noqa: F401,F403
from .methods import __all__ as _methods_all
from .metrics import ari, cluster_acc, evaluate, nmi
from .train import get_device, seed_everything

__version__ = "0.1.0"
__all__ = ["checks", "data", "metrics", "nets", "plot", "train", "ClusterData",
           "load_dataset", "evaluate", "cluster_acc", "nmi", "ari",
           "get_device", "seed_everything", *_methods_all]
