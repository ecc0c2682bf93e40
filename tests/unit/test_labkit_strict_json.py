import json
import math

import numpy as np

from labkit.strict_json import jsonable


def test_non_finite_become_null_and_numpy_becomes_python():
    obj = {"a": math.nan, "b": [1.5, math.inf, np.float32(-np.inf)], 3: (np.int64(2), np.bool_(True)),
           "arr": np.array([[0.5, np.nan]])}
    out = jsonable(obj)
    assert out == {"a": None, "b": [1.5, None, None], "3": [2, True], "arr": [[0.5, None]]}
    assert json.loads(json.dumps(out, allow_nan=False)) == out
