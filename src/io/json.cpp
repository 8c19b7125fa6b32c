#include "io/json.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/utf8.h"

namespace uspdit::io {

// Recursive descent over the text; positions in messages are byte offsets into it.
class JsonParser {
 public:
  JsonParser(std::string_view text, const std::string& what) : text_(text), what_(what) {}

  Json document() {
    skip_space();
    Json v = value(0);
    skip_space();
    if (pos_ != text_.size()) fail("unexpected data after the JSON value");
    return v;
  }

 private:
  // Deep enough for any real config; shallow enough that hostile input cannot exhaust the stack.
  static constexpr int kMaxDepth = 128;

  [[noreturn]] void fail(const std::string& reason) const {
    throw UsageError(what_ + ": invalid JSON at byte " + std::to_string(pos_) + ": " + reason);
  }
  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }
  void skip_space() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) ++pos_;
  }
  void expect(char c, const char* what) {
    if (peek() != c || at_end()) fail(std::string("expected ") + what);
    ++pos_;
  }
  void literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) fail("invalid literal");
    pos_ += word.size();
  }

  Json value(int depth) {
    if (depth > kMaxDepth) fail("nesting deeper than " + std::to_string(kMaxDepth));
    Json v;
    if (at_end()) fail("unexpected end of input");
    switch (peek()) {
      case '{':
        object(v, depth);
        break;
      case '[':
        array(v, depth);
        break;
      case '"':
        v.type_ = Json::Type::kString;
        v.string_ = string();
        break;
      case 't':
        literal("true");
        v.type_ = Json::Type::kBool;
        v.bool_ = true;
        break;
      case 'f':
        literal("false");
        v.type_ = Json::Type::kBool;
        break;
      case 'n':
        literal("null");
        break;
      default:
        number(v);
    }
    return v;
  }

  void object(Json& v, int depth) {
    v.type_ = Json::Type::kObject;
    ++pos_;  // '{'
    skip_space();
    if (peek() == '}' && !at_end()) {
      ++pos_;
      return;
    }
    for (;;) {
      skip_space();
      if (peek() != '"' || at_end()) fail("expected a string key");
      v.keys_.push_back(string());
      skip_space();
      expect(':', "':'");
      skip_space();
      v.items_.push_back(value(depth + 1));
      skip_space();
      if (peek() == ',' && !at_end()) {
        ++pos_;
        continue;
      }
      expect('}', "',' or '}'");
      break;
    }
    // Duplicate keys are ambiguous (which tensor is meant?): refuse them.
    std::vector<std::string_view> sorted(v.keys_.begin(), v.keys_.end());
    std::sort(sorted.begin(), sorted.end());
    auto dup = std::adjacent_find(sorted.begin(), sorted.end());
    if (dup != sorted.end()) fail("duplicate key \"" + std::string(*dup) + "\"");
  }

  void array(Json& v, int depth) {
    v.type_ = Json::Type::kArray;
    ++pos_;  // '['
    skip_space();
    if (peek() == ']' && !at_end()) {
      ++pos_;
      return;
    }
    for (;;) {
      skip_space();
      v.items_.push_back(value(depth + 1));
      skip_space();
      if (peek() == ',' && !at_end()) {
        ++pos_;
        continue;
      }
      expect(']', "',' or ']'");
      return;
    }
  }

  unsigned hex4() {
    if (pos_ + 4 > text_.size()) fail("truncated \\u escape");
    unsigned code = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_++];
      code <<= 4;
      if (c >= '0' && c <= '9')
        code |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f')
        code |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        code |= static_cast<unsigned>(c - 'A' + 10);
      else
        fail("invalid \\u escape");
    }
    return code;
  }

  // Copies one well-formed UTF-8 sequence starting at pos_ (RFC 3629: no overlongs, no
  // surrogates, at most U+10FFFF).
  void utf8_sequence(std::string& out) {
    const auto b0 = static_cast<unsigned char>(text_[pos_]);
    int extra = 0;
    unsigned cp = 0;
    unsigned min = 0;
    if (b0 >= 0xC2 && b0 <= 0xDF)
      extra = 1, cp = b0 & 0x1F, min = 0x80;
    else if (b0 >= 0xE0 && b0 <= 0xEF)
      extra = 2, cp = b0 & 0x0F, min = 0x800;
    else if (b0 >= 0xF0 && b0 <= 0xF4)
      extra = 3, cp = b0 & 0x07, min = 0x10000;
    else
      fail("invalid UTF-8");
    if (pos_ + 1 + static_cast<size_t>(extra) > text_.size()) fail("truncated UTF-8");
    for (int i = 1; i <= extra; ++i) {
      const auto b = static_cast<unsigned char>(text_[pos_ + static_cast<size_t>(i)]);
      if ((b & 0xC0) != 0x80) fail("invalid UTF-8");
      cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) fail("invalid UTF-8");
    out.append(text_.substr(pos_, 1 + static_cast<size_t>(extra)));
    pos_ += 1 + static_cast<size_t>(extra);
  }

  std::string string() {
    ++pos_;  // opening quote
    std::string out;
    for (;;) {
      if (at_end()) fail("unterminated string");
      const auto c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c < 0x20) fail("control character in string");
      if (c >= 0x80) {
        utf8_sequence(out);
        continue;
      }
      ++pos_;
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (at_end()) fail("unterminated escape");
      const char e = text_[pos_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xDC00 && cp <= 0xDFFF) fail("unpaired low surrogate");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (text_.substr(pos_, 2) != "\\u") fail("unpaired high surrogate");
            pos_ += 2;
            const unsigned low = hex4();
            if (low < 0xDC00 || low > 0xDFFF) fail("unpaired high surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          append_utf8(out, static_cast<char32_t>(cp));
          break;
        }
        default:
          --pos_, fail("invalid escape");
      }
    }
  }

  void number(Json& v) {
    const size_t start = pos_;
    auto digits = [&] {
      const size_t from = pos_;
      while (!at_end() && peek() >= '0' && peek() <= '9') ++pos_;
      return pos_ - from;
    };
    if (peek() == '-') ++pos_;
    const size_t int_start = pos_;
    const size_t n = digits();
    if (n == 0) {
      pos_ = start;
      fail("expected a value");
    }
    if (n > 1 && text_[int_start] == '0') fail("leading zero in number");
    bool integral = true;
    if (peek() == '.' && !at_end()) {
      ++pos_;
      if (digits() == 0) fail("expected digits after '.'");
      integral = false;
    }
    if ((peek() == 'e' || peek() == 'E') && !at_end()) {
      ++pos_;
      if (peek() == '+' || peek() == '-') ++pos_;
      if (digits() == 0) fail("expected digits in exponent");
      integral = false;
    }
    const char* first = text_.data() + start;
    const char* last = text_.data() + pos_;
    if (integral) {
      auto [end, ec] = std::from_chars(first, last, v.int_);
      if (ec == std::errc() && end == last) {
        v.type_ = Json::Type::kInt;
        return;
      }
    }
    // from_chars is locale-independent, unlike strtod.
    auto [end, ec] = std::from_chars(first, last, v.double_);
    if (ec != std::errc() || end != last) {
      pos_ = start;
      fail("number out of range");
    }
    v.type_ = Json::Type::kDouble;
  }

  std::string_view text_;
  const std::string& what_;
  size_t pos_ = 0;
};

Json Json::parse_file(const std::string& path, const std::string& hint) {
  std::ifstream in(path, std::ios::binary);
  require(in.good(), "cannot read " + path + (hint.empty() ? "" : " (" + hint + ")"));
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), path);
}

Json Json::parse(std::string_view text, const std::string& what) {
  return JsonParser(text, what).document();
}

std::string Json::type_name() const {
  switch (type_) {
    case Type::kNull:
      return "null";
    case Type::kBool:
      return "a boolean";
    case Type::kInt:
      return "an integer";
    case Type::kDouble:
      return "a number";
    case Type::kString:
      return "a string";
    case Type::kArray:
      return "an array";
    case Type::kObject:
      return "an object";
  }
  return "?";
}

namespace {
[[noreturn]] void mismatch(const Json& v, const char* expected) {
  throw UsageError("JSON value is " + v.type_name() + ", expected " + expected);
}
}  // namespace

bool Json::as_bool() const {
  if (type_ != Type::kBool) mismatch(*this, "a boolean");
  return bool_;
}
int64_t Json::as_int() const {
  if (type_ != Type::kInt) mismatch(*this, "an integer");
  return int_;
}
double Json::as_number() const {
  if (type_ == Type::kInt) return static_cast<double>(int_);
  if (type_ != Type::kDouble) mismatch(*this, "a number");
  return double_;
}
const std::string& Json::as_string() const {
  if (type_ != Type::kString) mismatch(*this, "a string");
  return string_;
}

const Json* Json::find(std::string_view key) const {
  if (type_ != Type::kObject) return nullptr;
  for (size_t i = 0; i < keys_.size(); ++i)
    if (keys_[i] == key) return &items_[i];
  return nullptr;
}

}  // namespace uspdit::io
