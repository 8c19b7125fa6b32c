#!/usr/bin/env bash
# Reproduces bench/hunyuan_dit.md: HunyuanVideo (HYVideo-T/2-cfgdistill shapes), 1 double-stream +
# 1 single-stream block, 2000 video tokens (320×320, 17 frames), text 256 of which the last 56 are
# padding (a 200-token prompt, as the real text encoder pads to 256). Every knob of bench/dit.sh
# (LAYERS, SINGLE_LAYERS, TEXT_LEN, TEXT_PADDING, REPEATS, ...) can be set in the environment.
export LAYERS=${LAYERS:-1} SINGLE_LAYERS=${SINGLE_LAYERS:-1} TEXT_LEN=${TEXT_LEN:-256} TEXT_PADDING=${TEXT_PADDING:-56}
MODEL=hunyuanvideo exec "$(dirname "$0")/dit.sh" "$@"
