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

    def __init__(self, help_text=None, **has):
        self.has_command = has
        self.help_text = help_text or {}


class Modes(unittest.TestCase):
    def test_table(self):
        self.assertEqual(modes.ALL_MODES, ["writeback", "none", "none-bigger-guests", "scrub",
                                           "watch", "watch-pressure"])
        self.assertEqual({m.name: m.cache for m in modes.MODES},
                         {"writeback": "writeback", "none": "none",
                          "none-bigger-guests": "none", "scrub": "writeback",
                          "watch": "writeback", "watch-pressure": "writeback"})
        self.assertIs(modes.BY_NAME["scrub"].helper, modes.ScrubLoop)
        self.assertIs(modes.BY_NAME["watch"].helper, modes.WatchDaemon)
        self.assertIs(modes.BY_NAME["watch-pressure"].helper, modes.PressureWatchDaemon)
        self.assertIsNone(modes.BY_NAME["none"].helper)
        self.assertIsNone(modes.BY_NAME["none-bigger-guests"].helper)

    def test_same_total_memory_in_every_mode(self):
        for guests, ram, budget in ((2, 192, 256), (2, 192, 128), (3, 192, 256), (8, 2048, 8192)):
            totals = set()
            for m in modes.MODES:
                g, h = m.memory(guests, ram, budget)
                totals.add(guests * g + h)
                if m.bigger_guests:
                    self.assertEqual(g, ram + budget // guests)
                    self.assertLess(h, guests)  # only what does not divide stays
                else:
                    self.assertEqual((g, h), (ram, budget))
            self.assertEqual(totals, {guests * ram + budget})
        self.assertEqual(modes.BY_NAME["none-bigger-guests"].memory(2, 192, 256), (320, 0))

    def test_why_a_mode_is_not_run(self):
        nothing = FakeExperiment(scrub=False, watch=False)
        self.assertEqual(modes.BY_NAME["scrub"].unusable(nothing), "/opt/singleton scrub not usable")
        self.assertEqual(modes.BY_NAME["watch"].unusable(nothing),
                         "`singleton watch` does not exist yet")
        self.assertIsNone(modes.BY_NAME["writeback"].unusable(nothing))
        old = FakeExperiment(scrub=True, watch=True, help_text={"watch": "  --cpu-budget arg\n"})
        self.assertIsNone(modes.BY_NAME["watch"].unusable(old))
        self.assertEqual(modes.BY_NAME["watch-pressure"].unusable(old),
                         "`singleton watch` has no --evict-when (/opt/singleton watch --help)")
        new = FakeExperiment(scrub=True, watch=True,
                             help_text={"watch": "  --evict-when arg (=always)\n"})
        self.assertTrue(all(m.unusable(new) is None for m in modes.MODES))

    def test_watch_commands(self):
        class Cg:
            def memory_dir(self):
                return "/sys/fs/cgroup/memory/sgb-run"

        class Args:
            shared_policy = ""
            watch_args = "--cpu-budget 20"

        class Exp:
            singleton = "/b/singleton"
            help_text = {"watch": "--evict-when arg"}

        class Guests:
            guests = [{"qemu_pid": 11, "image": "/w/g0.img"}, {"qemu_pid": 12, "image": "/w/g1.img"}]

        class Run:
            exp, a, cg, guests, dir = Exp(), Args(), Cg(), Guests(), "/r"

        eager = modes.WatchDaemon(Run()).command()
        self.assertEqual(eager, ["/b/singleton", "watch", "--pid", "11", "--image", "/w/g0.img",
                                 "--pid", "12", "--image", "/w/g1.img", "--prometheus",
                                 "/r/watch.prom", "--evict-when", "always", "--cpu-budget", "20"])
        pressure = modes.PressureWatchDaemon(Run()).command()
        self.assertEqual(pressure[pressure.index("--evict-when"):],
                         ["--evict-when", "pressure", "--pressure-cgroup",
                          "/sys/fs/cgroup/memory/sgb-run", "--cpu-budget", "20"])
        # A singleton without --evict-when is given none (its watch is eager anyway).
        Exp.help_text = {"watch": ""}
        self.assertNotIn("--evict-when", modes.WatchDaemon(Run()).command())

    def test_defaults_and_unknown_modes(self):
        a = cli.apply_defaults(cli.parser().parse_args([]))
        self.assertEqual(a.modes, "writeback,none,none-bigger-guests,scrub,watch,watch-pressure")
        self.assertEqual(a.jobs, "randread-uniform,randread-zipf,randrw,seqread")
        self.assertEqual((a.runs, a.runtime, a.short_runtime, a.seq_runtime, a.seq_mib),
                         (3, 12, 8, 30, 48))
        q = cli.apply_defaults(cli.parser().parse_args(["--quick"]))
        self.assertEqual((q.runs, q.runtime, q.short_runtime, q.seq_runtime, q.seq_mib),
                         (1, 6, 4, 15, 16))
        q = cli.apply_defaults(cli.parser().parse_args(["--quick", "--runs", "2"]))
        self.assertEqual(q.runs, 2)
        with contextlib.redirect_stderr(io.StringIO()) as err, self.assertRaises(SystemExit) as e:
            cli.main(["--modes", "writeback,bogus"])
        self.assertEqual(e.exception.code, 2)
        self.assertIn("unknown mode(s) bogus", err.getvalue())


if __name__ == "__main__":
    unittest.main()
