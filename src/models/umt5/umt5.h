// umt5-xxl text encoder for Wan 2.1: prompt cleaning, tokenizer, encoder (one include).
#pragma once

#include "models/umt5/umt5_config.h"
#include "models/umt5/umt5_encoder.h"
#include "models/umt5/umt5_text.h"
#include "models/umt5/umt5_tokenizer.h"
