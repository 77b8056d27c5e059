/* The tiny static program that fork_exec executes: it only exits. */
#include <unistd.h>

int main(void)
{
	_exit(0);
}
