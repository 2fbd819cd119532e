"""The zoo holds learner programs to be run as scripts (``python FILE.py`` / ``fastnn doctor FILE.py``).

pytest must never import them: importing runs their training loops.
"""
collect_ignore_glob = ["*"]
