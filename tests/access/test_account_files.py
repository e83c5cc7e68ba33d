"""Reading the users and tokens files: a broken entry is skipped, the others kept."""

from __future__ import annotations

import json
import logging

from controller.access.roles import Role
from controller.access.tokens import TokenStore
from controller.access.users import UserStore


def test_a_broken_user_entry_is_skipped_and_the_good_one_kept(tmp_path, caplog):
    path = tmp_path / "users.json"
    path.write_text(
        json.dumps(
            {
                "users": {
                    "ana": {"role": "operator", "hash": "$argon2id$x", "created_at": 5},
                    "bob": {"role": "emperor", "hash": "$argon2id$y"},
                    "cy": {"hash": "$argon2id$z"},
                }
            }
        )
    )
    users = UserStore(path)
    with caplog.at_level(logging.WARNING):
        users.read()
    assert [(u.name, u.role, u.created_at) for u in users.all()] == [
        ("ana", Role.OPERATOR, 5.0)
    ]
    assert "users file" in caplog.text and "'bob'" in caplog.text and "'cy'" in caplog.text


def test_tokens_file_missing_means_no_tokens_and_entries_are_read(tmp_path):
    path = tmp_path / "tokens.json"
    tokens = TokenStore(path)
    tokens.read()
    assert tokens.all() == []
    path.write_text(
        json.dumps({"tokens": {"vms": {"role": "admin", "digest": "ab", "created_by": "x"}}})
    )
    tokens.read()
    assert [(t.name, t.role, t.created_by) for t in tokens.all()] == [
        ("vms", Role.ADMIN, "x")
    ]
