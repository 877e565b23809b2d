"""The argv built with ffmpeg-python: every input keeps the sandbox's options, long graphs go to a script
file, and the compiled commands run under the real ffmpeg with the same pixels as a plain `-vf` run."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Literal

import numpy as np
import pytest

from service.media import MediaSettings, probe_sync
from service.media.ffmpeg_args import compile_command, input_args, open_input, raw_frames_output
from service.media.ffmpeg_binary import find_ffmpeg, reads_option_files
from service.media.frame_decoder import decode_command, shape_stream
from service.media.probe import probe_command
from service.media.select_expr import select_expression
from service.media.strategy import DecodePlan
from tests.media.test_sampling import reference_frames
from tests.media.videos import VideoFactory

FFMPEG = shutil.which("ffmpeg") or "ffmpeg"
SEEK = DecodePlan("seek", 0, 0)
ONE_PASS = DecodePlan("one_pass", 0, 0)


def _inputs(argv: list[str]) -> list[list[str]]:
    """The options before each `-i` (back to the previous `-i`'s file), plus that file."""
    groups, start = [], 1
    for at, arg in enumerate(argv):
        if arg == "-i":
            groups.append(argv[start : at + 2])
            start = at + 2
    return groups


def _options(group: list[str]) -> dict[str, str]:
    """`-name value` pairs of one input's options (valueless flags map to "")."""
    options, args = {}, group[:-2]
    for k, arg in enumerate(args):
        if arg.startswith("-"):
            value = args[k + 1] if k + 1 < len(args) and not args[k + 1].startswith("-") else ""
            options[arg[1:]] = value
    return options


def test_every_input_is_sandboxed(videos: VideoFactory, settings: MediaSettings) -> None:
    path = videos.get("h264")
    info = probe_sync(path, settings)
    for plan in (SEEK, ONE_PASS):
        command = decode_command(find_ffmpeg(settings), path, info, [1, 4, 7], 16, "crop", plan, settings)
        groups = _inputs(command.argv)
        assert len(groups) == (3 if plan is SEEK else 1)
        for group in groups:
            options = _options(group)
            assert options["protocol_whitelist"] == "file"
            assert options["format_whitelist"] == settings.format_whitelist
            assert options["max_pixels"] == str(settings.max_pixels)
            assert group[-1] == f"file:{path}"
        assert command.argv[1:5] == ["-nostdin", "-hide_banner", "-loglevel", "error"]
        assert command.script is None


def test_probe_argv_maps_the_first_real_video_stream(tmp_path: Path, settings: MediaSettings) -> None:
    argv, _ = probe_command(tmp_path / "a:b.mp4", settings, Path(FFMPEG))
    assert argv[argv.index("-i") + 1] == f"file:{tmp_path}/a:b.mp4"  # a colon is not a protocol
    assert argv[argv.index("-map") + 1] == "0:V:0"
    assert argv[-5:] == ["-f", "framecrc", "-c", "copy", "-"]


def test_input_args_match_the_graph_inputs(tmp_path: Path, settings: MediaSettings) -> None:
    path = tmp_path / "v.mp4"
    compiled = compile_command(Path(FFMPEG), open_input(path, settings, seek_s=1.5).output("-")).argv
    written = [FFMPEG, *input_args(path, settings, seek_s=1.5), "-"]
    assert _options(_inputs(compiled)[0]) == _options(_inputs(written)[0])
    assert _options(_inputs(written)[0])["ss"] == "1.500000"


@pytest.mark.parametrize("binary", ["system", "imageio"])  # ffmpeg 5.1 and the wheel's 7+ spell it apart
def test_long_graph_goes_to_a_script_that_ffmpeg_reads(
    videos: VideoFactory, tmp_path: Path, binary: Literal["system", "imageio"]
) -> None:
    path = videos.get("cfr10s")  # 250 frames
    settings = MediaSettings(temp_dir=tmp_path, ffmpeg=binary)
    wanted, size = list(range(0, 250, 3)), 8
    selected = open_input(path, settings)["V:0"].filter("select", select_expression(wanted))
    output = raw_frames_output(shape_stream(selected, size, "squash"), len(wanted))
    inline = compile_command(find_ffmpeg(settings), output, tmp_path)
    assert inline.script is None and "-filter_complex" in inline.argv
    command = compile_command(find_ffmpeg(settings), output, tmp_path, inline_limit=100)
    try:
        assert command.script is not None and command.script.parent == tmp_path
        assert "-filter_complex" not in command.argv
        option = "-/filter_complex" if reads_option_files(find_ffmpeg(settings)) else "-filter_complex_script"
        assert command.argv[command.argv.index(option) + 1] == f"file:{command.script}"
        assert command.script.read_text() == inline.argv[inline.argv.index("-filter_complex") + 1]
        out = subprocess.run(command.argv, check=True, capture_output=True, timeout=60).stdout
    finally:
        command.remove_script()
    assert not command.script.exists()
    frames = np.frombuffer(out, np.uint8).reshape(-1, size, size, 3)
    np.testing.assert_array_equal(frames, reference_frames(path, size, "squash")[wanted])
