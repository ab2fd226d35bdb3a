package io.usertcp;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The import graph of the library (ARCHITECTURE.md, "Layers"): each package imports only packages below it, and
 * there are no cycles. From the top: {@code channel}; {@code stack}; the transports {@code tcp} and {@code udp}
 * (which do not import each other); the network layer; {@code link}; and at the bottom {@code wire}, {@code time},
 * {@code stats} and {@code util}, which import nothing of the library but themselves.
 */
class LayeringTest {
    private static JavaClasses classes;

    @BeforeAll
    static void importMainClasses() {
        classes = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("io.usertcp");
    }

    @Test
    void eachLayerImportsOnlyLayersBelowIt() {
        layeredArchitecture()
                .consideringOnlyDependenciesInLayers()
                .withOptionalLayers(true)
                .layer("channel").definedBy("io.usertcp.channel..")
                .layer("stack").definedBy("io.usertcp.stack..")
                .layer("transport").definedBy("io.usertcp.tcp..", "io.usertcp.udp..")
                .layer("network").definedBy("io.usertcp.ip..")
                .layer("link").definedBy("io.usertcp.link..")
                .layer("base").definedBy("io.usertcp.wire..", "io.usertcp.time..", "io.usertcp.stats..",
                        "io.usertcp.util..")
                .whereLayer("channel").mayNotBeAccessedByAnyLayer()
                .whereLayer("stack").mayOnlyBeAccessedByLayers("channel")
                .whereLayer("transport").mayOnlyBeAccessedByLayers("stack", "channel")
                .whereLayer("network").mayOnlyBeAccessedByLayers("transport", "stack", "channel")
                .whereLayer("link").mayOnlyBeAccessedByLayers("network", "stack", "channel")
                .check(classes);
    }

    @Test
    void tcpAndUdpDoNotImportEachOther() {
        noClasses().that().resideInAPackage("io.usertcp.tcp..")
                .should().dependOnClassesThat().resideInAPackage("io.usertcp.udp..").check(classes);
        noClasses().that().resideInAPackage("io.usertcp.udp..")
                .should().dependOnClassesThat().resideInAPackage("io.usertcp.tcp..").check(classes);
    }

    @Test
    void bottomPackagesImportNoOtherPackageOfTheLibrary() {
        for (String bottom : new String[] {"wire", "time", "stats", "util"}) {
            noClasses().that().resideInAPackage("io.usertcp." + bottom + "..")
                    .should().dependOnClassesThat().resideInAnyPackage(
                            "io.usertcp.channel..", "io.usertcp.stack..", "io.usertcp.tcp..", "io.usertcp.udp..",
                            "io.usertcp.ip..", "io.usertcp.link..")
                    .check(classes);
        }
    }

    @Test
    void noCyclesBetweenPackages() {
        slices().matching("io.usertcp.(*)..").should().beFreeOfCycles().check(classes);
    }
}
