"""Rebuild .dvc/plots/index.html, the page template `dvc plots show` fills, with Vega inlined (offline).

DVC's default page loads vega, vega-lite and vega-embed from a CDN, so it is blank without internet.
.dvc/config (``plots.html_template``) points DVC at this template instead, which carries the three
minified builds from the npm registry inline: the page DVC writes works wherever it is opened, with no
network and whatever ``-o`` folder it goes to. Run once per Vega upgrade (npm is needed only then):

    cd "$(mktemp -d)" && npm pack vega@5 vega-lite@5 vega-embed@6
    python scripts/vendor_vega.py "$OLDPWD" vega-*.tgz

Each package is BSD-3-Clause: its LICENSE goes to .dvc/plots/LICENSE.<name> and into the page as a
comment. The vega package ships no LICENSE file; the one in .dvc/plots (vega/vega's LICENSE) is kept.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tarfile
from pathlib import Path

PACKAGES = ("vega", "vega-lite", "vega-embed")  # load order: vega-lite needs vega, vega-embed both
# dvc_render.html fills {refresh_tag} and {plot_divs}; without {scripts} it adds no CDN <script> tags.
PAGE = """<!DOCTYPE html>
<html>
<head>
    {{refresh_tag}}
    <meta charset="utf-8">
    <title>DVC Plot</title>
    <!-- ganforge: {versions} inlined so the page renders offline (scripts/vendor_vega.py). -->
{scripts}
    <script>
        // SVG instead of vega-embed's default canvas: crisp when zoomed or saved, and the marks are part
        // of the page (screen readers; tests/test_dvc_plots_page.py reads them).
        (function (embed) {{
            window.vegaEmbed = Object.assign(function (el, spec, opt) {{
                return embed(el, spec, Object.assign({{renderer: "svg"}}, opt));
            }}, embed);
        }})(window.vegaEmbed);
    </script>
    <style>
        table {{
            border-spacing: 15px;
        }}
    </style>
</head>
<body>
    {{plot_divs}}
</body>
</html>
"""


def read_package(tarball: Path) -> dict[str, str]:
    with tarfile.open(tarball) as tar:
        meta = json.load(tar.extractfile("package/package.json"))
        name = meta["name"]
        script = tar.extractfile(f"package/build/{name}.min.js").read().decode()
        members = set(tar.getnames())
        license_text = (
            tar.extractfile("package/LICENSE").read().decode() if "package/LICENSE" in members else None
        )
    if meta.get("license") != "BSD-3-Clause":
        sys.exit(f"{name}: license {meta.get('license')!r}, expected BSD-3-Clause; check before vendoring")
    for bad in ("</script", "<!--", "{plot_divs}", "{scripts}", "{refresh_tag}"):
        if bad in script:
            sys.exit(f"{name}.min.js contains {bad!r}: it cannot be inlined as it is")
    return {"name": name, "version": meta["version"], "script": script, "license": license_text}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("repo", type=Path, help="the repository root (where .dvc/ is)")
    parser.add_argument("tarballs", type=Path, nargs="+", help="npm pack's vega, vega-lite, vega-embed")
    args = parser.parse_args()
    out_dir = args.repo / ".dvc" / "plots"
    out_dir.mkdir(parents=True, exist_ok=True)
    packages = {p["name"]: p for p in map(read_package, args.tarballs)}
    if sorted(packages) != sorted(PACKAGES):
        sys.exit(f"need the tarballs of {', '.join(PACKAGES)}; got {', '.join(sorted(packages))}")
    blocks = []
    for name in PACKAGES:
        pkg = packages[name]
        license_file = out_dir / f"LICENSE.{name}"
        if pkg["license"] is not None:
            license_file.write_text(pkg["license"])
        elif not license_file.is_file():
            sys.exit(f"{name}@{pkg['version']} ships no LICENSE; put its BSD-3-Clause text in {license_file}")
        notice = license_file.read_text().replace("--", "- -")  # keep the comment well-formed
        blocks.append(f"    <!-- {name}@{pkg['version']}, BSD-3-Clause:\n{notice}-->")
        blocks.append(f"    <script>{pkg['script']}</script>")
        digest = hashlib.sha256(pkg["script"].encode()).hexdigest()
        print(f"{name}@{pkg['version']}  {len(pkg['script']):>8} bytes  sha256 {digest}")
    versions = ", ".join(f"{n}@{packages[n]['version']}" for n in PACKAGES)
    page = out_dir / "index.html"
    page.write_text(PAGE.format(versions=versions, scripts="\n".join(blocks)))
    print(f"wrote {page} ({page.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
