#include "serve/signals.h"

#include <pthread.h>

namespace dsw::server::signals {

sigset_t take_stop_signals() {
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  return sigs;
}

}  // namespace dsw::server::signals
