"""The tests' view of a loopback S3 server (moto), through boto3: an independent client,
so what cdncost wrote is checked by someone else's S3 code.

    s3_tool.py ENDPOINT mkbucket BUCKET
    s3_tool.py ENDPOINT list BUCKET PREFIX         -> key<TAB>size per line
    s3_tool.py ENDPOINT uploads BUCKET PREFIX      -> key<TAB>upload id per open upload
    s3_tool.py ENDPOINT kill-when-uploading BUCKET PREFIX PID
        polls the open multipart uploads every 5 ms; SIGKILLs PID once one has a part
        in, then prints the key (exit 1 if PID ended first)
    s3_tool.py ENDPOINT sync BUCKET PREFIX DIR     -> downloads every object below PREFIX
    s3_tool.py ENDPOINT orphan BUCKET KEY          -> starts a multipart upload of KEY, one
        part in, and leaves it open (what a writer that died long ago leaves)
"""

import os
import signal
import sys
import time

import boto3


def client(endpoint):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        region_name="us-east-1",
    )


def objects(s3, bucket, prefix):
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for o in page.get("Contents", []):
            yield o["Key"], o["Size"]


def uploads(s3, bucket, prefix):
    r = s3.list_multipart_uploads(Bucket=bucket, Prefix=prefix)
    return [(u["Key"], u["UploadId"]) for u in r.get("Uploads", [])]


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (ended, not yet waited for) is not alive.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def main():
    endpoint, command, bucket = sys.argv[1:4]
    s3 = client(endpoint)
    if command == "mkbucket":
        s3.create_bucket(Bucket=bucket)
    elif command == "list":
        for key, size in objects(s3, bucket, sys.argv[4]):
            print(f"{key}\t{size}")
    elif command == "uploads":
        for key, upload in uploads(s3, bucket, sys.argv[4]):
            print(f"{key}\t{upload}")
    elif command == "kill-when-uploading":
        prefix, pid = sys.argv[4], int(sys.argv[5])
        while alive(pid):
            for key, upload in uploads(s3, bucket, prefix):
                parts = s3.list_parts(Bucket=bucket, Key=key, UploadId=upload).get("Parts", [])
                if parts:
                    os.kill(pid, signal.SIGKILL)
                    print(key)
                    return 0
            time.sleep(0.005)
        print("the writer ended before an upload was seen", file=sys.stderr)
        return 1
    elif command == "sync":
        prefix, target = sys.argv[4], sys.argv[5]
        for key, _ in objects(s3, bucket, prefix):
            path = os.path.join(target, key[len(prefix):].lstrip("/"))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            s3.download_file(bucket, key, path)
    elif command == "orphan":
        key = sys.argv[4]
        upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=b"x" * 1024)
    else:
        raise SystemExit(f"unknown command {command}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
