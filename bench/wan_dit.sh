#!/usr/bin/env bash
# Reproduces bench/wan_dit.md: Wan 2.1 (1.3B shapes), 2 layers, 2000 video tokens, text 512.
# Every knob of bench/dit.sh (LAYERS, HEIGHT, ..., REPEATS) can still be set in the environment.
MODEL=wan2.1-t2v-1.3b exec "$(dirname "$0")/dit.sh" "$@"
