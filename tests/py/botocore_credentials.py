"""Reference credential resolution: what botocore (and so the AWS CLI) picks in a given environment.

The environment (HOME, AWS_* variables, endpoint overrides) is set by the caller; RDS_IAM_TEST_PROFILE, if set, is
passed as an explicit profile (what `--profile` does on the command line). Prints one JSON object:
{"access_key", "secret_key", "token", "method"} or {"error": "..."} or {"none": true}.
"""
import json
import os
import sys

import botocore.session

try:
    # An explicit profile, like the CLI's --profile (it skips the environment variables provider).
    profile = os.environ.pop("RDS_IAM_TEST_PROFILE", None)
    creds = botocore.session.Session(profile=profile).get_credentials()
    if creds is None:
        print(json.dumps({"none": True}))
    else:
        frozen = creds.get_frozen_credentials()
        print(json.dumps({
            "access_key": frozen.access_key,
            "secret_key": frozen.secret_key,
            "token": frozen.token,
            "method": creds.method,
        }))
except Exception as e:  # noqa: BLE001 - the error text is the result
    print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
sys.exit(0)
