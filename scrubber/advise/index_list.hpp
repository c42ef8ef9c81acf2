// A doubly linked list threaded through an array of nodes by 32-bit indices: O(1) move to the
// front, removal and tail access without a pointer or an allocation per block. The caches of the
// model keep millions of blocks; 8 bytes of links per list is what keeps them within 64 B each.
#pragma once

#include <cstdint>

namespace singleton::advise {

inline constexpr uint32_t kNil = 0xFFFFFFFF;  // no neighbour (an end of the list)
inline constexpr uint32_t kOut = 0xFFFFFFFE;  // in Prev: the node is not in this list

// Node has two uint32_t members named by Prev and Next; a node is in the list iff its Prev is
// not kOut. Front = most recent, back = least recent.
template <typename Node, uint32_t Node::*Prev, uint32_t Node::*Next>
class IndexList {
 public:
  static bool contains(const Node* nodes, uint32_t i) { return nodes[i].*Prev != kOut; }
  static void mark_out(Node* nodes, uint32_t i) { nodes[i].*Prev = kOut; }

  uint32_t front() const { return head_; }
  uint32_t back() const { return tail_; }
  uint64_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  void push_front(Node* nodes, uint32_t i) {
    nodes[i].*Prev = kNil;
    nodes[i].*Next = head_;
    if (head_ != kNil) nodes[head_].*Prev = i; else tail_ = i;
    head_ = i;
    ++size_;
  }
  void push_back(Node* nodes, uint32_t i) {
    nodes[i].*Next = kNil;
    nodes[i].*Prev = tail_;
    if (tail_ != kNil) nodes[tail_].*Next = i; else head_ = i;
    tail_ = i;
    ++size_;
  }
  void remove(Node* nodes, uint32_t i) {
    const uint32_t p = nodes[i].*Prev, n = nodes[i].*Next;
    if (p != kNil) nodes[p].*Next = n; else head_ = n;
    if (n != kNil) nodes[n].*Prev = p; else tail_ = p;
    nodes[i].*Prev = kOut;
    --size_;
  }
  void move_to_front(Node* nodes, uint32_t i) {
    if (head_ == i) return;
    remove(nodes, i);
    push_front(nodes, i);
  }
  void move_to_back(Node* nodes, uint32_t i) {
    if (tail_ == i) return;
    remove(nodes, i);
    push_back(nodes, i);
  }

 private:
  uint32_t head_ = kNil;
  uint32_t tail_ = kNil;
  uint64_t size_ = 0;
};

}  // namespace singleton::advise
