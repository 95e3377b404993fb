"""`streaming state list|reset`: where each service keeps its state, and starting one from scratch.

A reset is explicit and complete: the service's checkpoints are moved aside (never deleted), its
changelog topics are deleted, and its consumer group is rewound, so that the next start rebuilds the state
from the inputs instead of starting cold while the group's offsets say everything was processed.
"""

from __future__ import annotations

import argparse
import sys
import time

from streaming.cli.common import add_common_options, settings_from_args
from streaming.config import Settings
from streaming.replay.timeparse import parse_time
from streaming.services import Service, registry


def add_list_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_options(parser)


def add_reset_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--service", required=True, help="the service whose state to reset (see `state list`)"
    )
    parser.add_argument(
        "--to",
        type=parse_time,
        default=0.0,
        help="rewind the group to the first input at or after this time, ISO-8601 or epoch s "
        "(default: the beginning)",
    )
    parser.add_argument("--dry-run", action="store_true", help="say what would be done, change nothing")
    add_common_options(parser)


def add_watermark_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--service", required=True, help="a service with windows (see `state list`)")
    parser.add_argument(
        "--partition", type=int, required=True, action="append", help="source partition (repeatable)"
    )
    parser.add_argument(
        "--to", type=parse_time, required=True, help="the partition's latest event time, ISO-8601 or epoch s"
    )
    add_common_options(parser)


def set_watermark(args: argparse.Namespace) -> int:
    """Set the latest event time of some partitions of a windowed service (e.g. after a record stamped
    decades ahead moved it there): written to the changelog while the service is stopped."""
    from streaming.kafka import OutputProducer, make_admin, resolve_bootstrap
    from streaming.kafka.groups import GroupActiveError, refuse_if_active
    from streaming.state.changelog import meta_record
    from streaming.windows.aggregator import WATERMARK

    settings = settings_from_args(args)
    try:
        service = registry().service(args.service)
    except KeyError as error:
        print(f"state watermark: {error.args[0]}", file=sys.stderr)
        return 2
    if service.state is None or not service.state.changelog_stores:
        print(f"state watermark: {service.name} keeps no windowed state", file=sys.stderr)
        return 2
    bootstrap = resolve_bootstrap(settings)
    group = f"{settings.topics.prefix}{service.state.group_id(settings)}"
    admin = make_admin(settings, bootstrap)
    try:
        refuse_if_active(admin, group, "set the watermark")
    except GroupActiveError as error:
        print(f"state watermark: {error}", file=sys.stderr)
        return 2
    finally:
        admin.close()
    producer = OutputProducer(settings, bootstrap, role="state-watermark")
    try:
        for store in service.state.changelog_stores:
            topic = _changelog(settings, service, store)
            key, value = meta_record(WATERMARK, {"max_event_time": float(args.to)})
            for partition in args.partition:
                producer.send(topic, key, value, partition=partition)
                print(f"{topic}[{partition}]: latest event time set to {args.to:.3f}")
        producer.flush(timeout=30)
    finally:
        producer.close()
    return 0


def _stateful() -> list[Service]:
    return [service for service in registry().services.values() if service.state is not None]


def list_state(args: argparse.Namespace) -> int:
    from streaming.kafka import committed_offsets, make_admin, resolve_bootstrap
    from streaming.state import CheckpointStore

    settings = settings_from_args(args)
    admin = make_admin(settings, resolve_bootstrap(settings))
    try:
        existing = set(admin.list_topics())
        for service in _stateful():
            assert service.state is not None
            group = f"{settings.topics.prefix}{service.state.group_id(settings)}"
            offsets = committed_offsets(admin, group)
            print(f"{service.name}: group {group} ({len(offsets)} partitions committed)")
            if service.state.checkpoint_dir is not None:
                directory = service.state.checkpoint_dir(settings)
                versions = CheckpointStore(directory).versions()
                print(f"  checkpoints in {directory}: {', '.join(f'v{v}' for v in versions) or 'none'}")
            for store in service.state.changelog_stores:
                topic = _changelog(settings, service, store)
                print(f"  changelog {topic}: {'exists' if topic in existing else 'absent'}")
    finally:
        admin.close()
    return 0


def _changelog(settings: Settings, service: Service, store: str) -> str:
    from streaming.kafka import changelog_topic

    assert service.state is not None
    return changelog_topic(settings, service.state.group_id(settings), store)


def reset(args: argparse.Namespace) -> int:
    from streaming.kafka import delete_topics, make_admin, resolve_bootstrap
    from streaming.kafka.groups import GroupActiveError, rewind_group
    from streaming.state import CheckpointStore

    settings = settings_from_args(args)
    try:
        service = registry().service(args.service)
    except KeyError as error:
        print(f"state reset: {error.args[0]}", file=sys.stderr)
        return 2
    if service.state is None:
        print(f"state reset: {service.name} keeps no state", file=sys.stderr)
        return 2
    bootstrap = resolve_bootstrap(settings)
    group = f"{settings.topics.prefix}{service.state.group_id(settings)}"
    verb = "would" if args.dry_run else "did"
    # The group first: it refuses while members run, before anything else is touched.
    try:
        plan = rewind_group(settings, group, args.to, bootstrap=bootstrap, dry_run=args.dry_run)
        print(plan.describe())
    except GroupActiveError as error:
        print(f"state reset: {error}", file=sys.stderr)
        return 2
    except LookupError:
        print(f"group {group}: no committed offsets, nothing to rewind")
    if service.state.checkpoint_dir is not None:
        store = CheckpointStore(service.state.checkpoint_dir(settings))
        backup = store.directory / f"reset-{time.strftime('%Y%m%d-%H%M%S')}"
        if args.dry_run:
            moved = [str(version) for version in store.versions()]
            print(f"{verb} move {len(moved)} checkpoint(s) of {store.directory} into {backup}")
        else:
            moved_paths = store.clear(backup)
            store.acknowledge_reset({"reset_at": time.time(), "rewound_to": args.to})
            print(f"{verb} move {len(moved_paths)} checkpoint file(s) into {backup}")
    topics = [_changelog(settings, service, store_name) for store_name in service.state.changelog_stores]
    if topics:
        if args.dry_run:
            print(f"{verb} delete changelog topics {', '.join(topics)}")
        else:
            admin = make_admin(settings, bootstrap)
            try:
                deleted = delete_topics(admin, topics)
            finally:
                admin.close()
            print(f"{verb} delete changelog topics: {', '.join(deleted) or 'none existed'}")
    if not args.dry_run:
        print(f"{service.name}: reset; its next start rebuilds its state from the inputs")
    return 0
