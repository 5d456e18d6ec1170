#include "cvmwatch/core/abi.h"

#include <cctype>
#include <charconv>
#include <limits>

#include "cvmwatch/core/hash.h"

namespace cvmwatch::abi {
namespace {

constexpr std::size_t kWord = 32;
// Types come from our own tables, but keep even their static sizes sane.
constexpr std::size_t kMaxFixedArrayLength = 1u << 16;

// ---------------------------------------------------------------------------------------------
// Type parsing

class TypeParser {
 public:
  explicit TypeParser(std::string_view text) : text_(text) {}

  Result<Type> ParseWhole() {
    auto t = ParseOne(0);
    if (!t.ok()) return t;
    if (pos_ != text_.size()) return Fail("unexpected character");
    return t;
  }

  // "(a,b,...)" starting at pos_.
  Result<Type> ParseTupleBody(int depth) {
    if (depth > 32) return Fail("type nested too deeply");
    if (pos_ >= text_.size() || text_[pos_] != '(') return Fail("expected '('");
    ++pos_;
    Type tuple;
    tuple.kind = Kind::kTuple;
    if (pos_ < text_.size() && text_[pos_] == ')') {
      ++pos_;
      return tuple;
    }
    while (true) {
      auto member = ParseOne(depth + 1);
      if (!member.ok()) return member;
      tuple.children.push_back(std::move(member).value());
      if (pos_ >= text_.size()) return Fail("unterminated tuple");
      if (text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (text_[pos_] == ')') {
        ++pos_;
        return tuple;
      }
      return Fail("expected ',' or ')'");
    }
  }

  std::size_t pos() const { return pos_; }

 private:
  Error Fail(std::string_view what) const {
    return MakeError(ErrorCode::kAbiTypeSyntax, std::string(what) + " at position " +
                                                    std::to_string(pos_) + " in '" +
                                                    std::string(text_) + "'");
  }

  Result<Type> ParseOne(int depth) {
    Result<Type> base = (pos_ < text_.size() && text_[pos_] == '(') ? ParseTupleBody(depth)
                                                                    : ParseElementary();
    if (!base.ok()) return base;
    Type t = std::move(base).value();
    while (pos_ < text_.size() && text_[pos_] == '[') {
      ++pos_;
      std::size_t start = pos_;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
      if (pos_ >= text_.size() || text_[pos_] != ']') return Fail("expected ']'");
      Type arr;
      arr.children.push_back(std::move(t));
      if (pos_ == start) {
        arr.kind = Kind::kArray;
      } else {
        std::size_t k = 0;
        auto [ptr, ec] = std::from_chars(text_.data() + start, text_.data() + pos_, k);
        (void)ptr;
        if (ec != std::errc() || k == 0 || k > kMaxFixedArrayLength || text_[start] == '0') {
          return Fail("bad fixed array length");
        }
        arr.kind = Kind::kFixedArray;
        arr.length = k;
      }
      ++pos_;
      t = std::move(arr);
    }
    return t;
  }

  Result<Type> ParseElementary() {
    std::size_t start = pos_;
    while (pos_ < text_.size() && ((text_[pos_] >= 'a' && text_[pos_] <= 'z') ||
                                   (text_[pos_] >= '0' && text_[pos_] <= '9'))) {
      ++pos_;
    }
    const std::string_view word = text_.substr(start, pos_ - start);
    Type t;
    auto number_after = [&](std::string_view prefix, unsigned& out) -> bool {
      const std::string_view digits = word.substr(prefix.size());
      if (digits.empty() || digits[0] == '0') return false;
      auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
      return ec == std::errc() && ptr == digits.data() + digits.size();
    };
    unsigned n = 0;
    if (word == "address") {
      t.kind = Kind::kAddress;
    } else if (word == "bool") {
      t.kind = Kind::kBool;
    } else if (word == "bytes") {
      t.kind = Kind::kBytes;
    } else if (word == "string") {
      t.kind = Kind::kString;
    } else if (word.starts_with("uint") && number_after("uint", n) && n % 8 == 0 && n <= 256) {
      t.kind = Kind::kUint;
      t.bits = n;
    } else if (word.starts_with("int") && number_after("int", n) && n % 8 == 0 && n <= 256) {
      t.kind = Kind::kInt;
      t.bits = n;
    } else if (word.starts_with("bytes") && number_after("bytes", n) && n >= 1 && n <= 32) {
      t.kind = Kind::kFixedBytes;
      t.length = n;
    } else {
      pos_ = start;
      return Fail("unknown or non-canonical type '" + std::string(word) + "'");
    }
    return t;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Decoding

std::uint64_t ReadSmallWord(ByteView word, bool* fits) {
  for (std::size_t i = 0; i < 24; ++i) {
    if (word[i] != 0) {
      *fits = false;
      return 0;
    }
  }
  std::uint64_t v = 0;
  for (std::size_t i = 24; i < 32; ++i) v = v << 8 | word[i];
  *fits = true;
  return v;
}

// True when the top (256 - bits) bits of the word are a sign extension of bit (bits - 1).
bool IsSignExtended(ByteView word, unsigned bits) {
  if (bits == 256) return true;
  const std::size_t value_bytes = bits / 8;
  const std::uint8_t sign = (word[32 - value_bytes] & 0x80) ? 0xff : 0x00;
  for (std::size_t i = 0; i < 32 - value_bytes; ++i) {
    if (word[i] != sign) return false;
  }
  return true;
}

class Decoder {
 public:
  Decoder(ByteView data, const DecodeLimits& limits)
      : data_(data),
        limits_(limits),
        budget_(limits.budget_factor * data.size() + limits.budget_slack) {}

  Result<Value> DecodeTop(const Type& type) { return DecodeInPlace(type, 0, 0); }

 private:
  std::string Path() const {
    if (path_.empty()) return "<root>";
    std::string out;
    for (const auto& seg : path_) {
      if (!out.empty() && seg[0] != '[') out += '.';
      out += seg;
    }
    return out;
  }

  Error Fail(ErrorCode code, const std::string& what, std::size_t at) const {
    return MakeError(code, what + " at byte " + std::to_string(at) + " (field " + Path() +
                               ", input " + std::to_string(data_.size()) + " bytes)");
  }

  Status Charge(std::size_t amount, std::size_t at) {
    if (amount > budget_) {
      return Fail(ErrorCode::kAbiBudgetExceeded,
                  "decoded size exceeds what the input can justify", at);
    }
    budget_ -= amount;
    return OkStatus();
  }

  Result<ByteView> Word(std::size_t at) {
    if (at > data_.size() || data_.size() - at < kWord) {
      return Fail(ErrorCode::kAbiTruncated, "32-byte word runs past the end", at);
    }
    return data_.subspan(at, kWord);
  }

  // Reads an offset or a length: must fit in 64 bits (and so in the input, checked by callers).
  Result<std::uint64_t> SmallWord(std::size_t at, std::string_view what) {
    CVMW_ASSIGN_OR_RETURN(ByteView w, Word(at));
    bool fits = false;
    const std::uint64_t v = ReadSmallWord(w, &fits);
    if (!fits || v > data_.size()) {
      return Fail(what == "offset" ? ErrorCode::kAbiBadOffset : ErrorCode::kAbiBadLength,
                  std::string(what) + " " + U256::FromBe32(w).ToDecimal() +
                      " larger than the input",
                  at);
    }
    return v;
  }

  // Decodes the value whose head slot is at `head` inside a sequence that starts at `base`.
  Result<Value> DecodeSlot(const Type& type, std::size_t head, std::size_t base, int depth) {
    if (!type.IsDynamic()) return DecodeInPlace(type, head, depth);
    CVMW_ASSIGN_OR_RETURN(std::uint64_t offset, SmallWord(head, "offset"));
    const std::size_t target = base + offset;
    if (target < base || target >= data_.size()) {
      return Fail(ErrorCode::kAbiBadOffset,
                  "offset " + std::to_string(offset) + " points outside the input", head);
    }
    return DecodeInPlace(type, target, depth);
  }

  Result<Value> DecodeSequence(const Type& elem_or_null, const std::vector<Type>* members,
                               std::size_t count, std::size_t base, int depth) {
    if (depth + 1 > static_cast<int>(limits_.max_depth)) {
      return Fail(ErrorCode::kAbiTooDeep,
                  "nesting deeper than " + std::to_string(limits_.max_depth), base);
    }
    // The heads alone must fit in what remains: this bounds the allocation below by the input.
    std::size_t head_total = 0;
    if (members) {
      for (const auto& m : *members) head_total += m.HeadSize();
    } else {
      const std::size_t hs = elem_or_null.HeadSize();
      if (count != 0 && hs > (data_.size() - std::min(base, data_.size())) / count) {
        return Fail(ErrorCode::kAbiBadLength,
                    std::to_string(count) + " elements cannot fit in the remaining " +
                        std::to_string(data_.size() - std::min(base, data_.size())) + " bytes",
                    base);
      }
      head_total = hs * count;
    }
    if (base > data_.size() || data_.size() - base < head_total) {
      return Fail(ErrorCode::kAbiTruncated,
                  "heads of " + std::to_string(head_total) + " bytes run past the end", base);
    }
    ValueList out;
    out.reserve(count);
    std::size_t head = base;
    for (std::size_t i = 0; i < count; ++i) {
      const Type& t = members ? (*members)[i] : elem_or_null;
      path_.push_back(members ? std::to_string(i) : "[" + std::to_string(i) + "]");
      auto v = DecodeSlot(t, head, base, depth + 1);
      if (!v.ok()) return v.error();
      path_.pop_back();
      out.push_back(std::move(v).value());
      head += t.HeadSize();
    }
    return Value::List(std::move(out));
  }

  Result<Value> DecodeInPlace(const Type& type, std::size_t at, int depth) {
    switch (type.kind) {
      case Kind::kUint: {
        CVMW_ASSIGN_OR_RETURN(ByteView w, Word(at));
        CVMW_RETURN_IF_ERROR(Charge(kWord, at));
        const U256 v = U256::FromBe32(w);
        if (v.BitLength() > type.bits) {
          return Fail(ErrorCode::kAbiNonCanonical,
                      "value " + v.ToHex() + " does not fit uint" + std::to_string(type.bits), at);
        }
        return Value::Uint(v);
      }
      case Kind::kInt: {
        CVMW_ASSIGN_OR_RETURN(ByteView w, Word(at));
        CVMW_RETURN_IF_ERROR(Charge(kWord, at));
        if (!IsSignExtended(w, type.bits)) {
          return Fail(ErrorCode::kAbiNonCanonical,
                      "value is not a sign-extended int" + std::to_string(type.bits), at);
        }
        return Value::Uint(U256::FromBe32(w));
      }
      case Kind::kAddress: {
        CVMW_ASSIGN_OR_RETURN(ByteView w, Word(at));
        CVMW_RETURN_IF_ERROR(Charge(kWord, at));
        for (std::size_t i = 0; i < 12; ++i) {
          if (w[i] != 0) return Fail(ErrorCode::kAbiNonCanonical, "address has high bits set", at);
        }
        return Value::Addr(Address::FromBytes(w.subspan(12)).value());
      }
      case Kind::kBool: {
        CVMW_ASSIGN_OR_RETURN(ByteView w, Word(at));
        CVMW_RETURN_IF_ERROR(Charge(kWord, at));
        const U256 v = U256::FromBe32(w);
        if (v.BitLength() > 1) return Fail(ErrorCode::kAbiNonCanonical, "bool is not 0 or 1", at);
        return Value::Bool(!v.IsZero());
      }
      case Kind::kFixedBytes: {
        CVMW_ASSIGN_OR_RETURN(ByteView w, Word(at));
        CVMW_RETURN_IF_ERROR(Charge(kWord, at));
        for (std::size_t i = type.length; i < kWord; ++i) {
          if (w[i] != 0) {
            return Fail(ErrorCode::kAbiNonCanonical,
                        "bytes" + std::to_string(type.length) + " has non-zero padding", at);
          }
        }
        return Value::Blob(Bytes(w.begin(), w.begin() + type.length));
      }
      case Kind::kBytes:
      case Kind::kString: {
        CVMW_ASSIGN_OR_RETURN(std::uint64_t len, SmallWord(at, "length"));
        const std::size_t start = at + kWord;
        if (data_.size() - start < len) {
          return Fail(ErrorCode::kAbiBadLength,
                      "length " + std::to_string(len) + " runs past the end", at);
        }
        CVMW_RETURN_IF_ERROR(Charge(kWord + len, at));
        auto payload = data_.subspan(start, len);
        if (type.kind == Kind::kString) {
          return Value::Str(std::string(payload.begin(), payload.end()));
        }
        return Value::Blob(Bytes(payload.begin(), payload.end()));
      }
      case Kind::kArray: {
        CVMW_ASSIGN_OR_RETURN(std::uint64_t count, SmallWord(at, "length"));
        CVMW_RETURN_IF_ERROR(Charge(kWord, at));
        return DecodeSequence(type.children[0], nullptr, count, at + kWord, depth);
      }
      case Kind::kFixedArray:
        return DecodeSequence(type.children[0], nullptr, type.length, at, depth);
      case Kind::kTuple:
        return DecodeSequence(type, &type.children, type.children.size(), at, depth);
    }
    return Fail(ErrorCode::kAbiTypeSyntax, "unknown type kind", at);
  }

  ByteView data_;
  DecodeLimits limits_;
  std::size_t budget_;
  std::vector<std::string> path_;
};

// ---------------------------------------------------------------------------------------------
// Encoding

void AppendWord(Bytes& out, const std::array<std::uint8_t, 32>& w) {
  out.insert(out.end(), w.begin(), w.end());
}

Error Mismatch(const Type& t, std::string_view what) {
  return MakeError(ErrorCode::kAbiValueMismatch,
                   std::string(what) + " for type " + t.Canonical());
}

Result<Bytes> EncodeValue(const Type& type, const Value& value);

Result<Bytes> EncodeSequence(const Type* repeated, const std::vector<Type>* members,
                             const ValueList& values) {
  std::size_t head_size = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    head_size += (members ? (*members)[i] : *repeated).HeadSize();
  }
  Bytes head;
  Bytes tail;
  head.reserve(head_size);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const Type& t = members ? (*members)[i] : *repeated;
    CVMW_ASSIGN_OR_RETURN(Bytes enc, EncodeValue(t, values[i]));
    if (t.IsDynamic()) {
      AppendWord(head, U256(head_size + tail.size()).ToBe32());
      tail.insert(tail.end(), enc.begin(), enc.end());
    } else {
      head.insert(head.end(), enc.begin(), enc.end());
    }
  }
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

Result<Bytes> EncodeValue(const Type& type, const Value& value) {
  Bytes out;
  switch (type.kind) {
    case Kind::kUint: {
      const U256* v = value.AsUint();
      if (!v) return Mismatch(type, "expected an integer");
      if (v->BitLength() > type.bits) return Mismatch(type, "integer out of range");
      AppendWord(out, v->ToBe32());
      return out;
    }
    case Kind::kInt: {
      const U256* v = value.AsUint();
      if (!v) return Mismatch(type, "expected an integer");
      const auto w = v->ToBe32();
      if (!IsSignExtended(ByteView(w.data(), w.size()), type.bits)) {
        return Mismatch(type, "integer out of range");
      }
      AppendWord(out, w);
      return out;
    }
    case Kind::kAddress: {
      const Address* a = value.AsAddress();
      if (!a) return Mismatch(type, "expected an address");
      out.assign(12, 0);
      out.insert(out.end(), a->bytes.begin(), a->bytes.end());
      return out;
    }
    case Kind::kBool: {
      const bool* b = value.AsBool();
      if (!b) return Mismatch(type, "expected a bool");
      AppendWord(out, U256(*b ? 1 : 0).ToBe32());
      return out;
    }
    case Kind::kFixedBytes: {
      const Bytes* b = value.AsBytes();
      if (!b || b->size() != type.length) return Mismatch(type, "expected exactly N bytes");
      out = *b;
      out.resize(kWord, 0);
      return out;
    }
    case Kind::kBytes:
    case Kind::kString: {
      ByteView payload;
      if (type.kind == Kind::kBytes) {
        const Bytes* b = value.AsBytes();
        if (!b) return Mismatch(type, "expected bytes");
        payload = *b;
      } else {
        const std::string* s = value.AsString();
        if (!s) return Mismatch(type, "expected a string");
        payload = AsBytes(*s);
      }
      AppendWord(out, U256(payload.size()).ToBe32());
      out.insert(out.end(), payload.begin(), payload.end());
      out.resize(out.size() + (kWord - payload.size() % kWord) % kWord, 0);
      return out;
    }
    case Kind::kArray: {
      const ValueList* list = value.AsList();
      if (!list) return Mismatch(type, "expected a list");
      AppendWord(out, U256(list->size()).ToBe32());
      CVMW_ASSIGN_OR_RETURN(Bytes body, EncodeSequence(&type.children[0], nullptr, *list));
      out.insert(out.end(), body.begin(), body.end());
      return out;
    }
    case Kind::kFixedArray: {
      const ValueList* list = value.AsList();
      if (!list || list->size() != type.length) return Mismatch(type, "expected k elements");
      return EncodeSequence(&type.children[0], nullptr, *list);
    }
    case Kind::kTuple: {
      const ValueList* list = value.AsList();
      if (!list || list->size() != type.children.size()) {
        return Mismatch(type, "expected one value per tuple member");
      }
      return EncodeSequence(nullptr, &type.children, *list);
    }
  }
  return Mismatch(type, "unknown type kind");
}

}  // namespace

bool Type::IsDynamic() const {
  switch (kind) {
    case Kind::kBytes:
    case Kind::kString:
    case Kind::kArray:
      return true;
    case Kind::kFixedArray:
      return children[0].IsDynamic();
    case Kind::kTuple:
      for (const auto& c : children) {
        if (c.IsDynamic()) return true;
      }
      return false;
    default:
      return false;
  }
}

std::size_t Type::HeadSize() const {
  if (IsDynamic()) return kWord;
  switch (kind) {
    case Kind::kFixedArray:
      return length * children[0].HeadSize();
    case Kind::kTuple: {
      std::size_t total = 0;
      for (const auto& c : children) total += c.HeadSize();
      return total;
    }
    default:
      return kWord;
  }
}

std::string Type::Canonical() const {
  switch (kind) {
    case Kind::kUint: return "uint" + std::to_string(bits);
    case Kind::kInt: return "int" + std::to_string(bits);
    case Kind::kAddress: return "address";
    case Kind::kBool: return "bool";
    case Kind::kFixedBytes: return "bytes" + std::to_string(length);
    case Kind::kBytes: return "bytes";
    case Kind::kString: return "string";
    case Kind::kArray: return children[0].Canonical() + "[]";
    case Kind::kFixedArray: return children[0].Canonical() + "[" + std::to_string(length) + "]";
    case Kind::kTuple: {
      std::string out = "(";
      for (std::size_t i = 0; i < children.size(); ++i) {
        if (i) out += ',';
        out += children[i].Canonical();
      }
      return out + ")";
    }
  }
  return "?";
}

Result<Type> ParseType(std::string_view canonical) { return TypeParser(canonical).ParseWhole(); }

Result<Type> ParseSignatureParams(std::string_view signature, std::string* name_out) {
  const auto paren = signature.find('(');
  if (paren == std::string_view::npos) {
    return MakeError(ErrorCode::kAbiTypeSyntax, "no '(' in signature '" + std::string(signature) + "'");
  }
  const std::string_view name = signature.substr(0, paren);
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$')) {
      return MakeError(ErrorCode::kAbiTypeSyntax, "bad function name in '" + std::string(signature) + "'");
    }
  }
  TypeParser parser(signature.substr(paren));
  auto params = parser.ParseTupleBody(0);
  if (!params.ok()) return params;
  if (parser.pos() != signature.size() - paren) {
    return MakeError(ErrorCode::kAbiTypeSyntax,
                     "trailing characters in signature '" + std::string(signature) + "'");
  }
  if (name_out) *name_out = std::string(name);
  return params;
}

Result<Value> Decode(const Type& type, ByteView data, const DecodeLimits& limits) {
  return Decoder(data, limits).DecodeTop(type);
}

Result<Bytes> Encode(const Type& type, const Value& value) { return EncodeValue(type, value); }

Result<Function> ParseFunction(std::string_view signature) {
  Function fn;
  CVMW_ASSIGN_OR_RETURN(fn.params, ParseSignatureParams(signature, &fn.name));
  fn.signature = fn.name + fn.params.Canonical();
  fn.selector = FunctionSelector(fn.signature);
  return fn;
}

Result<Value> DecodeCall(const Function& fn, ByteView calldata, const DecodeLimits& limits) {
  if (calldata.size() < 4) {
    return MakeError(ErrorCode::kAbiTruncated,
                     "calldata of " + std::to_string(calldata.size()) + " bytes has no selector");
  }
  if (!std::equal(fn.selector.bytes.begin(), fn.selector.bytes.end(), calldata.begin())) {
    return MakeError(ErrorCode::kUnknownSelector,
                     "selector " + ToHex(calldata.first(4)) + " is not " + fn.signature);
  }
  return Decode(fn.params, calldata.subspan(4), limits);
}

Result<Bytes> EncodeCall(const Function& fn, const Value& args) {
  CVMW_ASSIGN_OR_RETURN(Bytes body, Encode(fn.params, args));
  Bytes out(fn.selector.bytes.begin(), fn.selector.bytes.end());
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

}  // namespace cvmwatch::abi
