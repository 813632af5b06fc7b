#include "server/signal_watcher.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "server/log.h"

namespace lact::server {
namespace {

int g_signal_pipe[2] = {-1, -1};

extern "C" void OnSignal(int sig) {
  const unsigned char byte = static_cast<unsigned char>(sig);
  (void)!write(g_signal_pipe[1], &byte, 1);
}

sigset_t DrainSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

void SignalWatcher::BlockInThisThread() {
  const sigset_t set = DrainSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void SignalWatcher::Start() {
  const sigset_t set = DrainSignals();
  // Both non-blocking: a signal can make the signalfd readable and then be taken by the handler
  // on a thread that does not block it (OpenBLAS starts its threads before main()); a blocking
  // read of the signalfd would then wait forever with the pipe's byte unread.
  const int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0 || pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    Log("warning: cannot watch SIGTERM/SIGINT (", std::strerror(errno),
        "); they end the server without a drain");
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    return;
  }
  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  std::thread([this, sfd] {
    pollfd fds[2] = {{sfd, POLLIN, 0}, {g_signal_pipe[0], POLLIN, 0}};
    while (true) {
      if (poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (((fds[0].revents | fds[1].revents) & (POLLERR | POLLHUP | POLLNVAL)) != 0) return;
      std::vector<int> received;
      signalfd_siginfo info{};
      while (read(sfd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        received.push_back(static_cast<int>(info.ssi_signo));
      }
      unsigned char byte = 0;
      while (read(g_signal_pipe[0], &byte, 1) == 1) received.push_back(byte);
      if (received.empty()) continue;
      absl::MutexLock lock(&mu_);
      last_signal_ = received.back();
      count_ += static_cast<int>(received.size());
    }
  }).detach();
}

bool SignalWatcher::WaitFor(int n, absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto reached = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return count_ >= n; };
  return mu_.AwaitWithDeadline(absl::Condition(&reached), deadline);
}

int SignalWatcher::last_signal() {
  absl::MutexLock lock(&mu_);
  return last_signal_;
}

}  // namespace lact::server
