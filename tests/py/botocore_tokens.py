"""Reference tokens from botocore's generate_db_auth_token, for the differential tests.

Reads JSON lines {host, port, user, region, access_key, secret_key, session_token, time (epoch seconds)} on stdin
and writes one JSON line {token} per case, signed by botocore's own RDS client at that fixed time.
"""
import datetime
import json
import sys

import botocore.auth
import botocore.credentials
import botocore.session

session = botocore.session.get_session()
clients = {}
fixed_now = [None]
# botocore's SigV4 signers read the time through this function; pin it to each case's time.
botocore.auth.get_current_datetime = lambda remove_tzinfo=True: fixed_now[0]

for line in sys.stdin:
    case = json.loads(line)
    region = case["region"]
    client = clients.get(region)
    if client is None:
        client = session.create_client(
            "rds", region_name=region, aws_access_key_id="x", aws_secret_access_key="x"
        )
        clients[region] = client
    client._request_signer._credentials = botocore.credentials.Credentials(
        case["access_key"], case["secret_key"], case.get("session_token")
    )
    fixed_now[0] = datetime.datetime.fromtimestamp(case["time"], datetime.timezone.utc).replace(tzinfo=None)
    token = client.generate_db_auth_token(case["host"], case["port"], case["user"], Region=region)
    print(json.dumps({"token": token}), flush=False)
