import os
from pathlib import Path

# AppTest and the page scripts resolve "pages/..." relative to the repository root. The packages
# themselves come from the editable install (`make` runs `pip install -e .`); `pages` is found
# because pytest puts the rootdir of this tests/ package on the path.
os.chdir(Path(__file__).resolve().parents[1])
