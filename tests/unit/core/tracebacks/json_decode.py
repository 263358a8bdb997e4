"""A stdlib error raised deep in json: the innermost in-app frame is the caller, not json/decoder.py.

EXPECT type=json.decoder.JSONDecodeError function=read_config category=validation_error
"""

import json


def read_config(text: str) -> dict[str, object]:
    return json.loads(text)  # RAISE-SITE


read_config("{not json")
