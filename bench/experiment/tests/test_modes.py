#!/usr/bin/python3
"""The mode table (modes.py) and the options that name modes (cli.py)."""
import contextlib
import io
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from experiment import cli, modes  # noqa: E402


class FakeExperiment:
    singleton = "/opt/singleton"

    def __init__(self, **has):
        self.has_command = has


class Modes(unittest.TestCase):
    def test_table(self):
        self.assertEqual(modes.ALL_MODES, ["writeback", "none", "scrub", "watch"])
        self.assertEqual({m.name: m.cache for m in modes.MODES},
                         {"writeback": "writeback", "none": "none", "scrub": "writeback",
                          "watch": "writeback"})
        self.assertIs(modes.BY_NAME["scrub"].helper, modes.ScrubLoop)
        self.assertIs(modes.BY_NAME["watch"].helper, modes.WatchDaemon)
        self.assertIsNone(modes.BY_NAME["none"].helper)

    def test_why_a_mode_is_not_run(self):
        nothing = FakeExperiment(scrub=False, watch=False)
        self.assertEqual(modes.BY_NAME["scrub"].unusable(nothing), "/opt/singleton scrub not usable")
        self.assertEqual(modes.BY_NAME["watch"].unusable(nothing),
                         "`singleton watch` does not exist yet")
        self.assertIsNone(modes.BY_NAME["writeback"].unusable(nothing))
        both = FakeExperiment(scrub=True, watch=True)
        self.assertTrue(all(m.unusable(both) is None for m in modes.MODES))

    def test_defaults_and_unknown_modes(self):
        a = cli.parser().parse_args([])
        self.assertEqual(a.modes, "writeback,none,scrub,watch")
        self.assertEqual(a.jobs, "randread-uniform,randread-zipf,randrw,seqread")
        with contextlib.redirect_stderr(io.StringIO()) as err, self.assertRaises(SystemExit) as e:
            cli.main(["--modes", "writeback,bogus"])
        self.assertEqual(e.exception.code, 2)
        self.assertIn("unknown mode(s) bogus", err.getvalue())


if __name__ == "__main__":
    unittest.main()
