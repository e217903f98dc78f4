#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static int cmp(const void *a, const void *b){ return *(const int*)a - *(const int*)b; }
int main(int argc, char **argv){
  int xs[8] = {5,3,7,1,8,2,6,4};
  qsort(xs, 8, sizeof xs[0], cmp);
  char *buf = malloc(64);
  snprintf(buf, 64, "%s", argc > 1 ? argv[1] : "world");
  printf("hello, %s: %d args, first %d, pi %.3f\n", buf, argc, xs[0], 3.14159);
  free(buf);
  return 0;
}
