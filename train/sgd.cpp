#include "train/sgd.h"

#include <map>
#include <stdexcept>

#include <fmt/format.h>

namespace apot::train {

MomentumSgd::MomentumSgd(std::vector<Group> groups, double momentum) : groups_(std::move(groups)), momentum_(momentum) {
  for (const Group& g : groups_) {
    base_lr_.push_back(g.lr);
    buffers_.emplace_back(g.params.size());
  }
}

void MomentumSgd::zero_grad() {
  for (Group& g : groups_) {
    for (auto& [name, p] : g.params) {
      if (p.grad().defined()) p.mutable_grad() = torch::Tensor();
    }
  }
}

void MomentumSgd::step() {
  torch::NoGradGuard no_grad;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    Group& g = groups_[gi];
    for (size_t i = 0; i < g.params.size(); ++i) {
      torch::Tensor& p = g.params[i].second;
      if (!p.grad().defined()) continue;
      torch::Tensor d = p.grad();
      if (g.weight_decay != 0) d = d.add(p, g.weight_decay);
      torch::Tensor& v = buffers_[gi][i];
      if (!v.defined()) {
        v = d.clone();  // torch: the first step's buffer is the gradient itself
      } else {
        v.mul_(momentum_).add_(d);
      }
      p.add_(v, -g.lr);
    }
  }
}

void MomentumSgd::set_lr_factor(double factor) {
  for (size_t gi = 0; gi < groups_.size(); ++gi) groups_[gi].lr = base_lr_[gi] * factor;
}

double MomentumSgd::lr(size_t group) const { return groups_.at(group).lr; }

void MomentumSgd::reflect_negative(size_t group) {
  torch::NoGradGuard no_grad;
  Group& g = groups_.at(group);
  for (size_t i = 0; i < g.params.size(); ++i) {
    torch::Tensor& p = g.params[i].second;
    const torch::Tensor sign = torch::where(p < 0, torch::full_like(p, -1), torch::ones_like(p));
    p.mul_(sign);
    if (buffers_[group][i].defined()) buffers_[group][i].mul_(sign);
  }
}

models::StateDict MomentumSgd::state() const {
  models::StateDict state;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    for (size_t i = 0; i < groups_[gi].params.size(); ++i) {
      if (buffers_[gi][i].defined()) state.emplace_back("momentum." + groups_[gi].params[i].first, buffers_[gi][i]);
    }
  }
  return state;
}

void MomentumSgd::load_state(const models::StateDict& state, const std::string& source) {
  std::map<std::string, torch::Tensor> given(state.begin(), state.end());
  size_t used = 0;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    for (size_t i = 0; i < groups_[gi].params.size(); ++i) {
      const auto& [name, p] = groups_[gi].params[i];
      auto it = given.find("momentum." + name);
      if (it == given.end()) {
        buffers_[gi][i] = torch::Tensor();
        continue;
      }
      if (it->second.sizes() != p.sizes()) {
        throw std::runtime_error(fmt::format("{}: momentum of '{}' has the wrong shape", source, name));
      }
      buffers_[gi][i] = it->second.clone();
      ++used;
    }
  }
  size_t momentum_entries = 0;
  for (const auto& [name, t] : state) momentum_entries += name.rfind("momentum.", 0) == 0;
  if (used != momentum_entries) {
    throw std::runtime_error(fmt::format("{}: {} momentum buffers do not belong to this model", source, momentum_entries - used));
  }
}

}  // namespace apot::train
