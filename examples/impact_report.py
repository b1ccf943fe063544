"""What declassifying a source would do, per holding organisation, through the Python client
(service/client.py): a report a security office runs before it decides.

    .venv/bin/python examples/impact_report.py S-2024-012 --url http://127.0.0.1:8000 \
        --token lin_...

(LINEAGE_URL and LINEAGE_TOKEN stand in for the options.) It prints the source, how many
descendants would have to act and how, and the pending notices of the caller's organisation if
it names one with --organisation. It writes nothing. Exit code 1 when the service refuses (the
sentence and its articles on stderr), 2 when it cannot be reached or the token is refused."""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter

from service.client import Client, ClientError, Problem, Refused, Unreachable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="解密影响报告")
    parser.add_argument("source", help="the source to analyse, e.g. S-2024-012")
    parser.add_argument("--url", default=os.environ.get("LINEAGE_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--token", default=os.environ.get("LINEAGE_TOKEN", ""))
    parser.add_argument("--organisation", help="also list this organisation's pending notices")
    arguments = parser.parse_args(argv)
    try:
        with Client(arguments.url, arguments.token, timeout=30) as lineage:
            analysis = lineage.impact_analysis(arguments.source, declassify=True, first=500)
            print(f"{analysis.item.id}  {analysis.item.title}  {analysis.item.marking}")
            print(
                f"解密将影响 {analysis.total} 项：解密 {analysis.to_declassify}，"
                f"变更 {analysis.to_change}，复核 {analysis.to_review}，"
                f"无权知悉 {analysis.redacted}"
            )
            actions = Counter(label for entry in analysis.impacts for label in entry.action_labels)
            for label, count in sorted(actions.items()):
                print(f"  {label}：{count} 项")
            if arguments.organisation:
                page = lineage.notices(
                    organisation_id=arguments.organisation, statuses=["PENDING"], first=20
                )
                print(f"{arguments.organisation} 待办通知 {len(page.notices)} 件")
                for notice in page.notices:
                    print(f"  {notice.id}  {notice.item_id}  限 {notice.due_on} 前")
    except Problem as problem:
        cited = f"（{'、'.join(problem.articles)}）" if problem.articles else ""
        print(f"{problem.message}{cited}", file=sys.stderr)
        return 1
    except (Unreachable, Refused) as error:
        print(error.message, file=sys.stderr)
        return 2 if isinstance(error, Unreachable) or error.code == "UNAUTHENTICATED" else 1
    except ClientError as error:
        print(error.message, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
