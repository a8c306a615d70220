#include "cli/signal_watcher.h"

#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "core/log.h"

namespace walflow::cli {

SignalWatcher::SignalWatcher(runtime::Controller& controller) : controller_(controller) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  signal_fd_ = signalfd(-1, &set, SFD_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_CLOEXEC);
  if (signal_fd_ < 0 || wake_fd_ < 0) {
    WF_LOG_WARN("walflow", "cannot watch signals ({}); stop with SIGKILL", strerror(errno));
    return;
  }
  thread_ = std::thread([this] { Run(); });
}

SignalWatcher::~SignalWatcher() {
  if (thread_.joinable()) {
    // An eventfd write of 1 cannot fail short of a bad descriptor; the thread is joined
    // either way, so it never outlives the controller.
    const uint64_t one = 1;
    while (::write(wake_fd_, &one, sizeof one) < 0 && errno == EINTR) {
    }
    thread_.join();
  }
  if (signal_fd_ >= 0) ::close(signal_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void SignalWatcher::Run() {
  int count = 0;
  while (true) {
    pollfd fds[2] = {{signal_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    signalfd_siginfo info;
    if (::read(signal_fd_, &info, sizeof info) != sizeof info) continue;
    const char* name = strsignal(static_cast<int>(info.ssi_signo));
    if (++count == 1) {
      WF_LOG_INFO("walflow", "received {}, stopping (again to stop at once)", name);
      controller_.RequestStop(std::string("signal ") + name);
    } else {
      WF_LOG_WARN("walflow", "stopping at once; sinks recover on the next start");
      _exit(130);
    }
  }
}

}  // namespace walflow::cli
