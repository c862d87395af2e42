"""benchmarks/zoo.py names the protocol's data folder DATA_DIR in its results, whatever its spelling."""

import importlib.util
from pathlib import Path

ZOO = Path(__file__).resolve().parents[2] / "benchmarks" / "zoo.py"


def test_results_name_the_data_folder_by_a_placeholder(tmp_path):
    spec = importlib.util.spec_from_file_location("zoo_benchmark", ZOO)
    zoo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(zoo)
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)  # the folder as given and as resolved are two spellings
    row = {"config": {"data": f"folder:{link}/train8000", "seed": 0},
           "files": [f"{real}/train8000/0/00001.png", "unrelated/text"], "fid": 1.5}
    assert zoo.without_paths(row, link) == {
        "config": {"data": "folder:DATA_DIR/train8000", "seed": 0},
        "files": ["DATA_DIR/train8000/0/00001.png", "unrelated/text"], "fid": 1.5}
