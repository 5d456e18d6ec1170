// Solidity ABI codec (https://docs.soliditylang.org/en/latest/abi-spec.html).
//
// Types are parsed from canonical type strings ("uint8", "(bytes,bytes32[])[]", ...). Values are a
// small tree (abi::Value). Decoding treats its input as untrusted:
//  * every offset and length is checked against the input before it is used;
//  * an array's element count must fit in the bytes that remain (count * head size), so a 100-byte
//    input cannot make the decoder reserve memory for 2^60 elements;
//  * the total decoded size is bounded by a budget proportional to the input (offsets may alias,
//    so without it a small input could expand exponentially);
//  * nesting depth is limited;
//  * static values must be in range for their type (uintN high bits zero, bool 0/1, address
//    high 12 bytes zero, intN sign-extended), as Solidity's ABI coder v2 requires.
// Errors come back as values naming the field path ("arg4.5[2]") and the byte offset.
// All functions are pure and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "cvmwatch/core/bytes.h"
#include "cvmwatch/core/result.h"
#include "cvmwatch/core/u256.h"

namespace cvmwatch::abi {

enum class Kind { kUint, kInt, kAddress, kBool, kFixedBytes, kBytes, kString, kArray, kFixedArray, kTuple };

struct Type {
  Kind kind = Kind::kTuple;
  unsigned bits = 0;           // uintN / intN
  std::size_t length = 0;      // bytesN: N; T[k]: k
  std::vector<Type> children;  // array: one element type; tuple: member types

  bool IsDynamic() const;
  // Bytes this type occupies in its enclosing head: 32 for dynamic types, else its full encoding.
  std::size_t HeadSize() const;
  std::string Canonical() const;
};

// "uint256", "(uint16,bytes)[]", "bytes32[4]" ...
Result<Type> ParseType(std::string_view canonical);
// A tuple type from "name(t1,t2,...)" or "(t1,t2,...)"; `name_out` receives the name, if any.
Result<Type> ParseSignatureParams(std::string_view signature, std::string* name_out = nullptr);

struct Value;
using ValueList = std::vector<Value>;

struct Value {
  // U256: uintN/intN (two's complement); bool; Address; Bytes: bytesN and bytes; string; list:
  // arrays and tuples.
  std::variant<U256, bool, Address, Bytes, std::string, ValueList> data;

  static Value Uint(U256 v) { return Value{v}; }
  static Value Bool(bool v) { return Value{v}; }
  static Value Addr(Address v) { return Value{v}; }
  static Value Blob(Bytes v) { return Value{std::move(v)}; }
  static Value Str(std::string v) { return Value{std::move(v)}; }
  static Value List(ValueList v) { return Value{std::move(v)}; }

  const U256* AsUint() const { return std::get_if<U256>(&data); }
  const bool* AsBool() const { return std::get_if<bool>(&data); }
  const Address* AsAddress() const { return std::get_if<Address>(&data); }
  const Bytes* AsBytes() const { return std::get_if<Bytes>(&data); }
  const std::string* AsString() const { return std::get_if<std::string>(&data); }
  const ValueList* AsList() const { return std::get_if<ValueList>(&data); }

  friend bool operator==(const Value&, const Value&) = default;
};

struct DecodeLimits {
  std::size_t max_depth = 16;
  // Decoded bytes (32 per word plus payloads) may not exceed budget_factor * input + slack.
  std::size_t budget_factor = 2;
  std::size_t budget_slack = 4096;
};

// Decode `data` as the encoding of `type` (for a call's arguments: the tuple of parameters).
Result<Value> Decode(const Type& type, ByteView data, const DecodeLimits& limits = {});
Result<Bytes> Encode(const Type& type, const Value& value);

// A function: name, parameter tuple, canonical signature and selector.
struct Function {
  std::string name;
  Type params;
  std::string signature;  // canonical "name(t1,t2)"
  Selector selector;
};
Result<Function> ParseFunction(std::string_view signature);

// calldata = selector ‖ encode(params). DecodeCall checks the selector.
Result<Value> DecodeCall(const Function& fn, ByteView calldata, const DecodeLimits& limits = {});
Result<Bytes> EncodeCall(const Function& fn, const Value& args);

}  // namespace cvmwatch::abi
