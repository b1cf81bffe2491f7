"""load_dataset on your own data: folders of images, .npy/.npz files, arrays in memory."""

import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from dclearn.data import ClusterData, DataConversionWarning, load_dataset


def _grey(seed, h=8, w=8):
    return np.random.default_rng(seed).integers(0, 256, (h, w), dtype=np.uint8)


def _save(path, arr):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return arr


@pytest.fixture
def class_folder(tmp_path):
    """tmp/shapes/{ring,bar}/k.png: three 8x8 grey images per class, and a stray text file."""
    root = tmp_path / "shapes"
    pixels = {}
    for c, name in enumerate(("ring", "bar")):
        for i in range(3):
            pixels[f"{name}/{i}.png"] = _save(root / name / f"{i}.png", _grey(10 * c + i))
    (root / "bar" / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir()  # hidden folders are not classes
    return root, pixels


def test_class_folders_give_labels_names_and_files(class_folder):
    root, pixels = class_folder
    data = load_dataset(root)
    assert isinstance(data, ClusterData) and data.name == "shapes"
    assert data.X.shape == (6, 1, 8, 8) and data.X.dtype == torch.float32
    # classes in sorted folder order, as torchvision's ImageFolder numbers them
    assert data.classes == ["bar", "ring"] and data.n_clusters == 2
    assert data.files == ["bar/0.png", "bar/1.png", "bar/2.png",
                          "ring/0.png", "ring/1.png", "ring/2.png"]
    assert data.y.dtype == torch.int64 and data.y.tolist() == [0, 0, 0, 1, 1, 1]
    for i, f in enumerate(data.files):
        assert torch.allclose(data.X[i, 0], torch.from_numpy(pixels[f] / 255.0).float())
    text = data.describe()
    assert "2 classes (bar, ring)" in text and "skipped 1 file" in text and "notes.txt" in text


def test_plain_folder_has_no_labels(tmp_path):
    for i in range(4):
        _save(tmp_path / "pics" / f"img{i}.png", _grey(i, 6, 6))
    data = load_dataset(str(tmp_path / "pics"))
    assert data.y is None and data.n_clusters is None and not data.has_labels
    assert data.X.shape == (4, 1, 6, 6) and data.files == [f"img{i}.png" for i in range(4)]
    assert "no labels" in data.describe()
    with pytest.raises(ValueError, match="has no labels .*no accuracy"):
        data.evaluate(np.zeros(4, dtype=int))
    assert load_dataset(tmp_path / "pics", n_clusters=3).n_clusters == 3
    with pytest.raises(ValueError, match="n_clusters must be in"):
        load_dataset(tmp_path / "pics", n_clusters=9)
    sub = data.subset(2, seed=0)  # subsets keep the file names and the absent labels
    assert sub.y is None and len(sub.files) == 2 and set(sub.files) <= set(data.files)


def test_a_single_sub_folder_is_read_without_labels(tmp_path):
    for i in range(3):
        _save(tmp_path / "one" / "all" / f"{i}.png", _grey(i))
    data = load_dataset(tmp_path / "one")
    assert data.y is None and data.files[0] == "all/0.png"


def test_rgb_grey_mixed_and_channels(tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    _save(tmp_path / "mix" / "a.png", rgb)
    _save(tmp_path / "mix" / "b.png", _grey(1))
    with pytest.raises(ValueError, match=r"mixes grey-scale .*b\.png.* colour .*a\.png.*channels"):
        load_dataset(tmp_path / "mix")
    as_rgb = load_dataset(tmp_path / "mix", channels=3)
    assert as_rgb.X.shape == (2, 3, 8, 8)
    assert torch.allclose(as_rgb.X[0], torch.from_numpy(rgb / 255.0).float().permute(2, 0, 1))
    assert torch.equal(as_rgb.X[1, 0], as_rgb.X[1, 2])  # grey repeated in R, G and B
    as_grey = load_dataset(tmp_path / "mix", channels=1)
    luma = (rgb / 255.0) @ np.array([0.299, 0.587, 0.114])
    assert as_grey.X.shape == (2, 1, 8, 8)
    assert np.allclose(as_grey.X[0, 0].numpy(), luma, atol=1e-5)
    # RGBA: alpha dropped, as torchvision's loader does, and said so
    _save(tmp_path / "rgba" / "x.png", rng.integers(0, 256, (4, 4, 4), dtype=np.uint8))
    _save(tmp_path / "rgba" / "y.png", rng.integers(0, 256, (4, 4, 4), dtype=np.uint8))
    d = load_dataset(tmp_path / "rgba")
    assert d.X.shape == (2, 3, 4, 4) and "alpha" in d.describe()


def test_different_sizes_resized_to_the_most_common_with_a_warning(tmp_path):
    for i in range(3):
        _save(tmp_path / "sizes" / f"s{i}.png", _grey(i, 12, 12))
    _save(tmp_path / "sizes" / "odd.png", _grey(9, 20, 16))
    with pytest.warns(DataConversionWarning, match=r"odd\.png.*12x12"):
        data = load_dataset(tmp_path / "sizes")
    assert data.X.shape == (4, 1, 12, 12)
    assert 0.0 <= float(data.X.min()) and float(data.X.max()) <= 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # asked for: no warning
        asked = load_dataset(tmp_path / "sizes", size=8)
    assert asked.X.shape == (4, 1, 8, 8) and "resized to 8x8 as asked" in asked.describe()
    with pytest.raises(ValueError, match="size must be"):
        load_dataset(tmp_path / "sizes", size=(0, 3))


def test_sixteen_bit_and_palette_images(tmp_path):
    deep = _save(tmp_path / "f" / "deep.png", np.arange(16, dtype=np.uint16).reshape(4, 4) * 4000)
    Image.fromarray(_grey(0, 4, 4)).convert("P").save(tmp_path / "f" / "pal.png")
    data = load_dataset(tmp_path / "f", channels=1)
    assert data.X.shape == (2, 1, 4, 4)
    assert torch.allclose(data.X[0, 0], torch.from_numpy(deep / 65535.0).float())


def test_npy_layouts_and_value_ranges(tmp_path):
    rng = np.random.default_rng(0)
    nhwc = rng.integers(0, 256, (5, 6, 6, 3), dtype=np.uint8)
    np.save(tmp_path / "nhwc.npy", nhwc)
    d = load_dataset(tmp_path / "nhwc.npy")
    assert d.X.shape == (5, 3, 6, 6) and d.y is None and d.name == "nhwc"
    assert torch.allclose(d.X[2, 1], torch.from_numpy(nhwc[2, :, :, 1] / 255.0).float())
    assert "N x H x W x C moved" in d.describe() and "divided by 255" in d.describe()
    nhw = rng.random((7, 5, 5)).astype(np.float32)
    np.save(tmp_path / "nhw.npy", nhw)
    d = load_dataset(tmp_path / "nhw.npy", size=4)
    assert d.X.shape == (7, 1, 4, 4) and d.X.dtype == torch.float32
    np.save(tmp_path / "signed.npy", rng.normal(size=(4, 1, 3, 3)))
    with pytest.warns(DataConversionWarning, match="min-max"):
        d = load_dataset(tmp_path / "signed.npy")
    assert float(d.X.min()) == 0.0 and float(d.X.max()) == 1.0


def test_npz_with_labels(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.integers(0, 256, (6, 1, 8, 8), dtype=np.uint8)
    np.savez(tmp_path / "coded.npz", X=X, y=np.array([5, 5, 7, 7, 9, 9]))
    d = load_dataset(tmp_path / "coded.npz")
    assert d.X.shape == (6, 1, 8, 8) and d.n_clusters == 3
    assert d.y.tolist() == [0, 0, 1, 1, 2, 2] and d.classes == ["5", "7", "9"]
    assert "renumbered" in d.describe() and d.evaluate(d.y)["acc"] == 1.0
    np.savez(tmp_path / "named.npz", images=X[:, 0], labels=np.array(list("abcabc")))
    d = load_dataset(tmp_path / "named.npz")
    assert d.X.shape == (6, 1, 8, 8) and d.classes == ["a", "b", "c"]
    assert d.y.tolist() == [0, 1, 2, 0, 1, 2]
    np.savez(tmp_path / "only.npz", pics=X)  # a single array is the images, whatever its name
    assert load_dataset(tmp_path / "only.npz").y is None
    np.savez(tmp_path / "two.npz", a=X, b=X)
    with pytest.raises(ValueError, match=r"\['a', 'b'\].*images or data"):
        load_dataset(tmp_path / "two.npz")
    np.savez(tmp_path / "short.npz", X=X, y=np.arange(4))
    with pytest.raises(ValueError, match=r"shape \(4,\).*\(6,\)"):
        load_dataset(tmp_path / "short.npz")


def test_arrays_and_tensors_in_memory():
    rng = np.random.default_rng(2)
    X = rng.random((10, 3, 4, 4)).astype(np.float32)
    d = load_dataset(X, y=np.repeat([0, 1], 5))
    assert torch.equal(d.X, torch.from_numpy(X)) and d.n_clusters == 2 and d.name == "array"
    t = load_dataset(torch.from_numpy(X), channels=1)
    assert t.X.shape == (10, 1, 4, 4) and t.y is None
    v = load_dataset(rng.random((10, 5)))  # vectors are used as they are
    assert v.X.shape == (10, 5) and not v.is_image and "vectors" in v.describe()
    with pytest.raises(ValueError, match="size and channels apply to images"):
        load_dataset(rng.random((10, 5)), size=4)
    with pytest.raises(ValueError, match=r"1 \(grey\) or 3 \(RGB\).*drop the alpha"):
        load_dataset(rng.random((3, 4, 5, 5)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        load_dataset(np.full((3, 4, 4), np.nan))
    with pytest.raises(ValueError, match="must hold numbers"):
        load_dataset(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="y applies to arrays"):
        load_dataset("./somewhere", y=[0, 1])


def test_named_data_sets_are_unchanged(digits):
    assert digits.files is None and digits.notes == [] and digits.has_labels
    assert load_dataset("digits", n_clusters=5).n_clusters == 5
    with pytest.raises(ValueError, match="unknown dataset 'cifar'.*folder of images"):
        load_dataset("cifar")
    with pytest.raises(ValueError, match="apply to your own data"):
        load_dataset("digits", size=4)


def test_bad_paths_empty_folders_and_unreadable_images(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match=f"{missing} does not exist"):
        load_dataset(missing)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"empty.* holds no image files .*it is empty"):
        load_dataset(tmp_path / "empty")
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "a.csv").write_text("1,2")
    with pytest.raises(ValueError, match=r"no image files .*found only a\.csv"):
        load_dataset(tmp_path / "texts")
    _save(tmp_path / "cls" / "full" / "0.png", _grey(0))
    (tmp_path / "cls" / "hollow").mkdir()
    with pytest.raises(ValueError, match=r"class folder .*hollow holds no image files"):
        load_dataset(tmp_path / "cls")
    _save(tmp_path / "both" / "top.png", _grey(0))
    _save(tmp_path / "both" / "sub" / "0.png", _grey(1))
    with pytest.raises(ValueError, match=r"mixes image files \(top\.png"):
        load_dataset(tmp_path / "both")
    _save(tmp_path / "bad" / "good.png", _grey(0))
    good = (tmp_path / "bad" / "good.png").read_bytes()
    (tmp_path / "bad" / "broken.png").write_bytes(good[: len(good) // 2])  # truncated PNG
    with pytest.raises(ValueError, match=r"cannot read the image .*broken\.png"):
        load_dataset(tmp_path / "bad")
    (tmp_path / "bad" / "broken.png").write_bytes(b"not a png at all")
    with pytest.raises(ValueError, match=r"cannot read the image .*broken\.png"):
        load_dataset(tmp_path / "bad")
    (tmp_path / "junk.npy").write_bytes(b"junk")
    with pytest.raises(ValueError, match=r"cannot read .*junk\.npy"):
        load_dataset(tmp_path / "junk.npy")
    with pytest.raises(ValueError, match="single image"):
        load_dataset(tmp_path / "bad" / "good.png")
    (tmp_path / "table.csv").write_text("1,2")
    with pytest.raises(ValueError, match=r"\.csv file"):
        load_dataset(tmp_path / "table.csv")
