/* signals.c - see signals.h. */
#include "signals.h"

#include "log.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t caught;

static void lh_signal_note(int sig)
{
	if (!caught)
		caught = sig;
}

void lh_signals_catch(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = lh_signal_note;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&sa.sa_mask, sigs[i]);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction old;

		/* ignored by whoever started us (nohup, a background job): keep it so */
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
}

int lh_signal_caught(void)
{
	return caught;
}

int lh_signals_exit_code(int code)
{
	int sig = caught;

	if (!sig)
		return code;
	lh_log_print(LH_LOG_WARN, "stopped by SIG%s, at a safe point",
		     sig == SIGINT ? "INT" : sig == SIGTERM ? "TERM" : "HUP");
	return 128 + sig;
}
