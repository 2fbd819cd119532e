"""The zoo holds learner programs to be run as scripts (by ``fastnn doctor``), never imported by pytest."""
collect_ignore_glob = ["*"]
