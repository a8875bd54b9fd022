// compose-check validates docker-compose.yml the way Docker Compose reads it (compose-go, the loader of the
// compose CLI), since these machines have no Docker engine: the file must load against the compose spec with
// every profile enabled, every service must have a healthcheck, every depends_on must name a service with a
// healthcheck and wait for it to be healthy, and every built service must name its app as a build argument.
//
//	go run ./infra/compose-check docker-compose.yml
package main

import (
	"context"
	"fmt"
	"os"
	"sort"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

func main() {
	file := "docker-compose.yml"
	if len(os.Args) > 1 {
		file = os.Args[1]
	}
	options, err := cli.NewProjectOptions([]string{file}, cli.WithOsEnv, cli.WithProfiles([]string{"*"}), cli.WithName("compose-check"))
	if err != nil {
		fail("options: %v", err)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		fail("%s does not load: %v", file, err)
	}
	var problems []string
	names := make([]string, 0, len(project.Services))
	for name := range project.Services {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		service := project.Services[name]
		if service.HealthCheck == nil || service.HealthCheck.Disable || len(service.HealthCheck.Test) == 0 {
			problems = append(problems, fmt.Sprintf("%s: no healthcheck", name))
		}
		for dependency, condition := range service.DependsOn {
			target, ok := project.Services[dependency]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: depends on unknown service %s", name, dependency))
				continue
			}
			if condition.Condition != types.ServiceConditionHealthy {
				problems = append(problems, fmt.Sprintf("%s: depends on %s without condition service_healthy", name, dependency))
			}
			if target.HealthCheck == nil {
				problems = append(problems, fmt.Sprintf("%s: depends on %s, which has no healthcheck", name, dependency))
			}
		}
		if service.Build != nil {
			if app := service.Build.Args["APP"]; app == nil || *app == "" {
				problems = append(problems, fmt.Sprintf("%s: built without an APP build argument", name))
			}
		}
		fmt.Printf("%-10s profiles %v, image %s, healthcheck %v\n", name, service.Profiles, image(service), service.HealthCheck != nil)
	}
	if len(problems) > 0 {
		for _, problem := range problems {
			fmt.Fprintln(os.Stderr, "compose-check:", problem)
		}
		os.Exit(1)
	}
	fmt.Printf("compose-check: %s is valid (%d services)\n", file, len(project.Services))
}

func image(service types.ServiceConfig) string {
	if service.Build != nil {
		return "built: " + service.Image
	}
	return service.Image
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "compose-check: "+format+"\n", args...)
	os.Exit(1)
}
