"""A SyntaxError in compiled source: the innermost frame is the bad source itself.

EXPECT type=SyntaxError function=<module> file=plugins/bad_plugin.py line=2 category=internal_error
"""


def load_plugin(source: str) -> None:
    exec(compile(source, "plugins/bad_plugin.py", "exec"))


load_plugin("x = 1\ny = (2,\n")
