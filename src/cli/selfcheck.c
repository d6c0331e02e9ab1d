/* lethe-selfcheck: placeholder until the library layers land. */
#include <stdio.h>

int
main(void)
{
	puts("lethe-selfcheck: ok");
	return 0;
}
