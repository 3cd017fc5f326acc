#!/usr/bin/env python3
"""Writes the config.json files transformers itself saves for dysco's architectures (run on the GPU host).

For every tiny preset: `dysco make-model --config-only` writes the hub-style config.json, transformers
loads it (AutoConfig) and saves it again (save_pretrained): the file a checkpoint saved by current
transformers carries. Both files go to OUT_DIR/<preset>/{hub,saved}.json, with each config class's
attribute_map (the field renames transformers applies) in OUT_DIR/attribute_maps.json.

usage: tests/hf_config_fixtures.py BUILD_DIR OUT_DIR
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import transformers
from transformers import AutoConfig

PRESETS = ["tiny-qwen3", "tiny-llama", "tiny-qwen3-moe", "qwen3-30b-a3b"]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    build, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    maps = {"transformers": transformers.__version__}
    for preset in PRESETS:
        with tempfile.TemporaryDirectory() as tmp:
            hub, saved = Path(tmp) / "hub", Path(tmp) / "saved"
            r = subprocess.run([str(build / "dysco"), "make-model", str(hub), "--preset", preset, "--config-only"],
                               capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(f"make-model {preset} exited {r.returncode}: {r.stderr.strip()}")
            cfg = AutoConfig.from_pretrained(hub)
            cfg.save_pretrained(saved)
            (out / preset).mkdir(exist_ok=True)
            (out / preset / "hub.json").write_text((hub / "config.json").read_text())
            (out / preset / "saved.json").write_text((saved / "config.json").read_text())
            maps[type(cfg).__name__] = dict(getattr(type(cfg), "attribute_map", {}))
    (out / "attribute_maps.json").write_text(json.dumps(maps, indent=1, sort_keys=True) + "\n")
    print(json.dumps(maps, sort_keys=True))


if __name__ == "__main__":
    main()
